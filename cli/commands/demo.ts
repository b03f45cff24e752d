import { InvalidArgumentError, type Command } from 'commander';
import { parseNonNegativeInt, parsePositiveInt } from '../duration.js';
import { withStoreFlag } from '../session.js';
import type { DemoFlags } from './demo-run.js';

/** Registers `reins demo`; the fleet is loaded only when it runs. */
export function registerDemo(program: Command): void {
  const cmd = program
    .command('demo')
    .description('run the demo fleet: a few dozen scripted runs ending in every terminal reason (one paused and resumed, one killed, approvals), with a live display, then the distribution')
    .option('--hold', 'leave the operator-controlled runs to you: approvals stay pending and paused runs paused until you act from another terminal')
    .option('--seed <n>', "reseed every run's retry jitter (default: derived from each run id)", parseNonNegativeInt)
    .option('--concurrency <n>', 'runs in flight at once', parsePositiveInt)
    .option('--prefix <id>', 'run id prefix (default: d + a time stamp, unique per demo)', (v) => {
      if (!/^[A-Za-z0-9][A-Za-z0-9_-]{0,40}$/.test(v)) throw new InvalidArgumentError('letters, digits, _ and -, starting with a letter or digit');
      return v;
    });
  withStoreFlag(cmd).action(async (flags: DemoFlags) => (await import('./demo-run.js')).demo(flags));
}
