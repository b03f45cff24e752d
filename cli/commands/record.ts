import type { Command } from 'commander';
import { fromRecorded } from '../../testing/recorded.js';
import { printJson, usingStore, withStoreFlag, type StoreFlags } from '../session.js';

/** `reins record <run>`: the stored run as a test fixture (JSON on stdout), for `scenario(agent, { recorded })`. */
export function registerRecord(program: Command): void {
  const cmd = program
    .command('record')
    .description('print a stored run as a test fixture (model turns, tool results, approvals, outcome) for scenario(agent, { recorded })')
    .argument('<run>', 'run id');
  withStoreFlag(cmd).action(async (runId: string, flags: StoreFlags) => {
    await usingStore(flags, false, async (store) => printJson(await fromRecorded(store, runId)));
  });
}
