import { Gauge, type Registry } from 'prom-client';
import type { RunSummary } from '../../persistence/records.js';
import type { SnapshotStore } from '../../persistence/store.js';
import { BoundedLabel, reasonLabels } from './labels.js';

/** How the store-wide gauges read the store. */
export interface StoreGaugeOptions {
  /** Runs read per scrape at most (default 10,000): the most recently updated ones. `reins_store_runs_truncated` says when the cap cut. */
  readonly maxRuns?: number;
  /** A listing is reused for this long (default 5 s), so that frequent or concurrent scrapes cost one listing. */
  readonly cacheMs?: number;
  /** Distinct agent label values at most (default 100); the rest count under `_other`. */
  readonly maxAgents?: number;
}

/** One listing's counts, keyed by their label values. */
interface Counts {
  readonly runs: Map<string, { agent: string; status: string; n: number }>;
  readonly reasons: Map<string, { agent: string; reason: string; group: string; n: number }>;
  readonly listed: number;
  readonly truncated: boolean;
}

/**
 * Gauges computed at scrape time from `store.list()`: the whole fleet, as
 * every process writing to the store sees it, so that a console hosting no
 * run still shows it. One listing per scrape (shared by the gauges, cached
 * for `cacheMs`), capped at `maxRuns` summaries; a listing that fails
 * empties the gauges and sets `reins_store_up` to 0 rather than failing
 * the scrape.
 */
export function registerStoreGauges(
  store: Pick<SnapshotStore, 'list'>,
  registry: Registry,
  prefix: string,
  options: StoreGaugeOptions = {},
): void {
  const maxRuns = options.maxRuns ?? 10_000;
  const cacheMs = options.cacheMs ?? 5_000;
  const agents = new BoundedLabel(options.maxAgents ?? 100);
  // A listing in flight is shared (a scrape collects every gauge at once); a settled one is reused for cacheMs.
  let cached: { settledAt: number | null; counts: Promise<Counts | null> } | null = null;

  const read = (): Promise<Counts | null> => {
    if (cached && (cached.settledAt === null || Date.now() - cached.settledAt < cacheMs)) return cached.counts;
    const entry: { settledAt: number | null; counts: Promise<Counts | null> } = { settledAt: null, counts: Promise.resolve(null) };
    // Read one past the cap: that one extra summary is how truncation is known.
    entry.counts = Promise.resolve()
      .then(() => store.list({ limit: maxRuns + 1 }))
      .then(
        (summaries) => count(summaries.slice(0, maxRuns), summaries.length > maxRuns, agents),
        () => null,
      )
      .finally(() => (entry.settledAt = Date.now()));
    cached = entry;
    return entry.counts;
  };

  new Gauge({
    name: `${prefix}runs`,
    help: 'Runs in the store by agent and status (running, paused, done, quarantined), over the most recently updated runs listed',
    labelNames: ['agent', 'status'] as const,
    registers: [registry],
    async collect() {
      const counts = await read();
      this.reset();
      for (const { agent, status, n } of counts?.runs.values() ?? []) this.set({ agent, status }, n);
    },
  });
  new Gauge({
    name: `${prefix}runs_by_reason`,
    help: 'Ended runs in the store by agent, terminal reason and alerting group (healthy, exhausted, broken)',
    labelNames: ['agent', 'reason', 'group'] as const,
    registers: [registry],
    async collect() {
      const counts = await read();
      this.reset();
      for (const { agent, reason, group, n } of counts?.reasons.values() ?? []) this.set({ agent, reason, group }, n);
    },
  });
  new Gauge({
    name: `${prefix}store_runs_listed`,
    help: 'Run summaries the store-wide gauges were computed from at the last scrape',
    registers: [registry],
    async collect() {
      this.set((await read())?.listed ?? 0);
    },
  });
  new Gauge({
    name: `${prefix}store_runs_truncated`,
    help: `1 when the store holds more runs than the listing cap (${maxRuns}): the store-wide gauges then cover the most recently updated ones only`,
    registers: [registry],
    async collect() {
      this.set((await read())?.truncated ? 1 : 0);
    },
  });
  new Gauge({
    name: `${prefix}store_up`,
    help: '1 when the last listing of the store succeeded, 0 when it failed (the store-wide gauges are then empty)',
    registers: [registry],
    async collect() {
      this.set((await read()) ? 1 : 0);
    },
  });
}

/** Counts summaries by (agent, status) and, for ended runs, by (agent, reason). */
function count(summaries: readonly RunSummary[], truncated: boolean, agents: BoundedLabel): Counts {
  const runs: Counts['runs'] = new Map();
  const reasons: Counts['reasons'] = new Map();
  for (const summary of summaries) {
    const agent = agents.value(summary.agentId);
    const runKey = `${agent}\u0000${summary.status}`;
    const run = runs.get(runKey) ?? { agent, status: summary.status, n: 0 };
    run.n++;
    runs.set(runKey, run);
    if (summary.status !== 'done' || summary.reason === null) continue;
    const { reason, group } = reasonLabels(summary.reason);
    const reasonKey = `${agent}\u0000${reason}`;
    const byReason = reasons.get(reasonKey) ?? { agent, reason, group, n: 0 };
    byReason.n++;
    reasons.set(reasonKey, byReason);
  }
  return { runs, reasons, listed: summaries.length, truncated };
}
