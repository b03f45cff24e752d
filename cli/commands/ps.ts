import { Option, type Command } from 'commander';
import { TERMINAL_REASONS } from '../../machines/outcome.js';
import { parsePositiveInt } from '../duration.js';
import { listRuns, RUN_STATES, type RunState } from '../ops/runs.js';
import { print, printJson, terminalPaint, usingStore, withJsonFlag, withStoreFlag, type StoreFlags } from '../session.js';
import { outputWidth } from '../columns.js';
import { psTable } from '../tables.js';

interface PsFlags extends StoreFlags {
  readonly status?: RunState;
  readonly agent?: string;
  readonly reason?: string;
  readonly limit: number;
  readonly all?: boolean;
  readonly json?: boolean;
}

/** `reins ps`: what every run is doing, newest activity first. */
export function registerPs(program: Command): void {
  const cmd = program
    .command('ps')
    .description('list runs: state, step, active tool, age, budgets used, owner')
    .addOption(new Option('--status <status>', 'only runs with this status').choices(RUN_STATES))
    .option('--agent <id>', 'only runs of this agent')
    .addOption(new Option('--reason <reason>', 'only runs that ended with this terminal reason').choices(TERMINAL_REASONS))
    .option('--limit <n>', 'show at most n runs (most recently updated first)', parsePositiveInt, 50)
    .option('--all', 'show every matching run');
  withJsonFlag(withStoreFlag(cmd)).action(async (flags: PsFlags) => {
    await usingStore(flags, false, async (store) => {
      const { runs, total } = await listRuns(store, {
        ...(flags.status ? { status: flags.status } : {}),
        ...(flags.agent ? { agentId: flags.agent } : {}),
        ...(flags.reason ? { reason: flags.reason } : {}),
        ...(flags.all ? {} : { limit: flags.limit }),
      });
      if (flags.json) printJson(runs);
      else print(psTable(runs, total, terminalPaint(), outputWidth()));
    });
  });
}
