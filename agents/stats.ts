import { groupOf, TERMINAL_REASONS, type OutcomeGroup, type TerminalReason } from '../machines/outcome.js';
import type { RunSummary } from '../persistence/records.js';

/** Count and share of one bucket. */
export interface Share {
  readonly count: number;
  readonly share: number;
}

/** p50 / p90 / p99 of a distribution (nearest rank); null when there is no data. */
export interface Percentiles {
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
}

/** The stop-reason distribution of a set of runs: what an on-call engineer pages on, instead of one completion rate. */
export interface FleetStats {
  /** Runs counted: every run started, ended or not. */
  readonly runs: number;
  /** Runs still running or paused (no terminal reason yet). */
  readonly active: number;
  /** Runs whose record could not be read (quarantined). */
  readonly quarantined: number;
  readonly byReason: Readonly<Record<TerminalReason, Share>>;
  readonly byGroup: Readonly<Record<OutcomeGroup, Share>>;
  /** Over ended runs. */
  readonly turns: Percentiles | null;
  readonly costUsd: Percentiles | null;
}

/** Fleet-wide and per-agent statistics. */
export interface StatsReport extends FleetStats {
  readonly perAgent: Readonly<Record<string, FleetStats>>;
}

/** Options for `computeStats`. */
export interface StatsOptions {
  /** Only runs created at or after this epoch ms. */
  readonly since?: number;
  readonly agentId?: string;
}

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

function percentiles(values: number[]): Percentiles | null {
  if (values.length === 0) return null;
  const sorted = values.sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p90: percentile(sorted, 90), p99: percentile(sorted, 99) };
}

/** Shares are over all runs counted, so the reason counts plus active plus quarantined add up to `runs`. */
function fleetStats(runs: readonly RunSummary[]): FleetStats {
  const reasonCounts = Object.fromEntries(TERMINAL_REASONS.map((r) => [r, 0])) as Record<TerminalReason, number>;
  const groupCounts: Record<OutcomeGroup, number> = { healthy: 0, exhausted: 0, broken: 0 };
  let active = 0;
  let quarantined = 0;
  const turns: number[] = [];
  const cost: number[] = [];
  for (const run of runs) {
    if (run.status === 'quarantined') {
      quarantined++;
      continue;
    }
    const reason = run.reason as TerminalReason | null;
    if (run.status !== 'done' || reason === null || !(reason in reasonCounts)) {
      active++;
      continue;
    }
    reasonCounts[reason]++;
    groupCounts[groupOf(reason)]++;
    turns.push(run.turns);
    cost.push(run.costUsd);
  }
  const share = (count: number): Share => ({ count, share: runs.length === 0 ? 0 : count / runs.length });
  return {
    runs: runs.length,
    active,
    quarantined,
    byReason: Object.fromEntries(TERMINAL_REASONS.map((r) => [r, share(reasonCounts[r])])) as Record<TerminalReason, Share>,
    byGroup: { healthy: share(groupCounts.healthy), exhausted: share(groupCounts.exhausted), broken: share(groupCounts.broken) },
    turns: percentiles(turns),
    costUsd: percentiles(cost),
  };
}

/** The distribution of terminal reasons, fleet-wide and per agent, of the given run summaries. */
export function computeStats(summaries: readonly RunSummary[], options: StatsOptions = {}): StatsReport {
  const runs = summaries.filter((s) => (options.since === undefined || s.createdAt >= options.since) && (options.agentId === undefined || s.agentId === options.agentId));
  const byAgent = new Map<string, RunSummary[]>();
  for (const run of runs) byAgent.set(run.agentId, [...(byAgent.get(run.agentId) ?? []), run]);
  return {
    ...fleetStats(runs),
    perAgent: Object.fromEntries([...byAgent].sort(([a], [b]) => (a < b ? -1 : 1)).map(([agent, list]) => [agent, fleetStats(list)])),
  };
}
