import type { Command } from 'commander';
import { computeStats } from '../../agents/stats.js';
import { parseSince } from '../duration.js';
import { describeStore, type StoreSpec } from '../store-option.js';
import { fleetConnection } from '../fleet-option.js';
import type { QueueDepth } from '../../agents/fleet/slice-queue.js';
import { print, printJson, terminalPaint, usingStore, withJsonFlag, withStoreFlag, type StoreFlags } from '../session.js';
import { statsText } from '../tables.js';

interface StatsFlags extends StoreFlags {
  readonly since?: number;
  readonly agent?: string;
  readonly json?: boolean;
}

/** The fleet's slice queue by state, on a Redis store (where the fleet lives); null on a FileStore. */
async function queueDepth(spec: StoreSpec): Promise<QueueDepth | null> {
  if (spec.kind !== 'redis') return null;
  const { SliceQueue } = await import('../../agents/fleet/slice-queue.js');
  const queue = new SliceQueue(fleetConnection(spec, 'stats'));
  try {
    return await queue.depth();
  } finally {
    await queue.close();
  }
}

/** `reins stats`: the distribution of terminal reasons, not one completion rate; on Redis, the fleet's queue by state. */
export function registerStats(program: Command): void {
  const cmd = program
    .command('stats')
    .description("distribution of terminal reasons (counts, shares, healthy / exhausted / broken), turns and cost percentiles, per agent; on Redis, the fleet's queue by state")
    .option('--since <when>', 'only runs created since: a span (30s, 10m, 2h, 7d, 1w), an ISO date, or epoch ms; default every run in the store', (v) => parseSince(v))
    .option('--agent <id>', 'only runs of this agent');
  withJsonFlag(withStoreFlag(cmd)).action(async (flags: StatsFlags) => {
    await usingStore(flags, false, async (store, spec) => {
      const report = computeStats(await store.list(), {
        ...(flags.since !== undefined ? { since: flags.since } : {}),
        ...(flags.agent ? { agentId: flags.agent } : {}),
      });
      const queue = await queueDepth(spec);
      if (flags.json) {
        printJson(queue ? { ...report, queue } : report);
        return;
      }
      const scope = [`in ${describeStore(spec)}`, flags.since !== undefined ? `since ${new Date(flags.since).toISOString()}` : '', flags.agent ? `of agent ${flags.agent}` : '']
        .filter(Boolean)
        .join(' ');
      print(statsText(report, scope, terminalPaint()));
      if (queue) print(`\nqueue: ${Object.entries(queue).map(([state, n]) => `${state} ${n}`).join(', ')}`);
    });
  });
}
