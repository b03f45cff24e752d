import type { Command } from 'commander';
import { parsePositiveInt } from '../duration.js';
import { showRun } from '../ops/runs.js';
import { withRelativeStacks } from '../paths.js';
import { print, printJson, terminalPaint, usingStore, withJsonFlag, withStoreFlag, type StoreFlags } from '../session.js';
import { showText } from '../tables.js';

interface ShowFlags extends StoreFlags {
  readonly limit: number;
  readonly json?: boolean;
}

/** `reins show <run>`: the run's timeline, outcome and evidence, children. */
export function registerShow(program: Command): void {
  const cmd = program
    .command('show')
    .description("a run's timeline (transitions, model and tool calls with latency, tokens, cost), its outcome and evidence, its children")
    .argument('<run>', 'run id')
    .option('--limit <n>', 'timeline entries to show (the most recent)', parsePositiveInt, 500);
  withJsonFlag(withStoreFlag(cmd)).action(async (runId: string, flags: ShowFlags) => {
    await usingStore(flags, false, async (store) => {
      // Stored stacks name the folders of the machine that ran the run; printed, they are relative.
      const detail = withRelativeStacks(await showRun(store, runId, { timelineLimit: flags.limit }));
      if (flags.json) printJson(detail);
      else print(showText(detail, terminalPaint()));
    });
  });
}
