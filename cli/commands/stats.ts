import type { Command } from 'commander';
import { computeStats } from '../../agents/stats.js';
import { parseSince } from '../duration.js';
import { describeStore } from '../store-option.js';
import { print, printJson, terminalPaint, usingStore, withJsonFlag, withStoreFlag, type StoreFlags } from '../session.js';
import { statsText } from '../tables.js';

interface StatsFlags extends StoreFlags {
  readonly since?: number;
  readonly agent?: string;
  readonly json?: boolean;
}

/** `reins stats`: the distribution of terminal reasons, not one completion rate. */
export function registerStats(program: Command): void {
  const cmd = program
    .command('stats')
    .description('distribution of terminal reasons (counts, shares, healthy / exhausted / broken), turns and cost percentiles, per agent')
    .option('--since <when>', 'only runs created since: a span (30s, 10m, 2h, 7d, 1w), an ISO date, or epoch ms; default every run in the store', (v) => parseSince(v))
    .option('--agent <id>', 'only runs of this agent');
  withJsonFlag(withStoreFlag(cmd)).action(async (flags: StatsFlags) => {
    await usingStore(flags, false, async (store, spec) => {
      const report = computeStats(await store.list(), {
        ...(flags.since !== undefined ? { since: flags.since } : {}),
        ...(flags.agent ? { agentId: flags.agent } : {}),
      });
      if (flags.json) {
        printJson(report);
        return;
      }
      const scope = [`in ${describeStore(spec)}`, flags.since !== undefined ? `since ${new Date(flags.since).toISOString()}` : '', flags.agent ? `of agent ${flags.agent}` : '']
        .filter(Boolean)
        .join(' ');
      print(statsText(report, scope, terminalPaint()));
    });
  });
}
