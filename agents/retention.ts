import { createHash } from 'node:crypto';
import { z } from 'zod';
import { groupOf, OutcomeGroup, TERMINAL_REASONS, type TerminalReason } from '../machines/outcome.js';
import type { RunSummary } from '../persistence/records.js';
import type { RetireResult, SnapshotStore } from '../persistence/store.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** How long the runs of one outcome group are kept, and which of them keep their trace. */
export const GroupRetention = z.object({
  /** A run tree whose newest member was last updated longer ago than this is deleted, with everything beside it. */
  keepMs: z.number().int().positive(),
  /** The share of run trees (0 to 1, decided by a hash of the root run's id) that keep their traces as long as the runs; 1 keeps every trace. */
  traceSample: z.number().min(0).max(1),
  /** How long a run outside the sample keeps its trace after its last update, so a run that just ended can still be looked at. */
  traceGraceMs: z.number().int().nonnegative(),
});
export type GroupRetention = z.infer<typeof GroupRetention>;

/** Retention by outcome: one rule per alerting group (see machines/outcome.ts). */
export const RetentionPolicy = z.object({ healthy: GroupRetention, exhausted: GroupRetention, broken: GroupRetention });
export type RetentionPolicy = z.infer<typeof RetentionPolicy>;

/**
 * The default: the rare failures an on-call engineer needs stay longest with
 * every trace; the common successes go soonest, a tenth of them with traces.
 */
export const DEFAULT_RETENTION: RetentionPolicy = {
  broken: { keepMs: 30 * DAY, traceSample: 1, traceGraceMs: 0 },
  exhausted: { keepMs: 14 * DAY, traceSample: 1, traceGraceMs: 0 },
  healthy: { keepMs: 3 * DAY, traceSample: 0.1, traceGraceMs: HOUR },
};

/** What one sweep did (or, dry, would do) to the runs of one group. */
export interface GroupCounts {
  /** Done runs retained under this group's rule. */
  readonly runs: number;
  readonly runsDeleted: number;
  readonly runsKept: number;
  readonly tracesDropped: number;
  /** Kept runs whose trace the rule keeps (sampled, within the grace, or a group that keeps every trace). */
  readonly tracesKept: number;
}

/** The outcome of one sweep. */
export interface RetentionReport {
  readonly dryRun: boolean;
  readonly at: number;
  readonly groups: Readonly<Record<OutcomeGroup, GroupCounts>>;
  /** Quarantined runs, never touched: they wait for an operator. */
  readonly quarantined: number;
  /** Runs not done (running, paused), and done runs in a tree that still has one: retention waits for the whole tree. */
  readonly live: number;
}

/** How a sweep runs. */
export interface SweepOptions {
  readonly policy?: RetentionPolicy;
  /** Count what would happen, change nothing (the CLI's default). */
  readonly dryRun?: boolean;
  readonly now?: number;
}

/** Most severe first: a tree is retained as its most severe member. */
const SEVERITY: readonly OutcomeGroup[] = ['broken', 'exhausted', 'healthy'];

/**
 * Whether a run tree keeps its traces under a sample rate: the first four
 * bytes of SHA-256 of the root run's id, read as an unsigned big-endian
 * integer and divided by 2^32, fall below the rate. Deterministic, so every
 * sweep and every worker agrees, and independent of the outcome.
 */
export function traceSampled(rootRunId: string, rate: number): boolean {
  return createHash('sha256').update(rootRunId).digest().readUInt32BE(0) / 2 ** 32 < rate;
}

/** The group a done run counts in by its own reason; an unknown or missing reason counts as broken. */
function ownGroup(summary: RunSummary): OutcomeGroup {
  const reason = summary.reason as TerminalReason | null;
  return reason !== null && TERMINAL_REASONS.includes(reason) ? groupOf(reason) : 'broken';
}

/** A run tree: a root run and its descendants still in the store. */
interface Tree {
  readonly rootId: string;
  readonly members: { readonly summary: RunSummary; readonly depth: number }[];
}

/** Groups runs into trees by parentId (a run whose parent is gone is a root). */
function treesOf(runs: readonly RunSummary[]): Tree[] {
  const byId = new Map(runs.map((r) => [r.runId, r]));
  const trees = new Map<string, Tree>();
  for (const run of runs) {
    let root = run;
    let depth = 0;
    const seen = new Set([run.runId]);
    for (let parent = byId.get(run.parentId ?? ''); parent && !seen.has(parent.runId); parent = byId.get(parent.parentId ?? '')) {
      seen.add(parent.runId);
      root = parent;
      depth++;
    }
    const tree = trees.get(root.runId) ?? { rootId: root.runId, members: [] };
    tree.members.push({ summary: run, depth });
    trees.set(root.runId, tree);
  }
  return [...trees.values()];
}

/**
 * Applies a retention policy to every run in the store, once. Runs are
 * retained as trees (a pipeline with its stages, an agent with its
 * sub-agents): a tree is kept by its most severe member's group and goes
 * whole, deepest runs first, once its newest member is past the group's
 * `keepMs`, so a healthy stage of a broken pipeline stays as long as the
 * failure it explains. A tree with a run still going, or a quarantined run,
 * is left alone. Every deletion and trace drop is one `store.retire`, which
 * checks the run again as stored: a sweep racing a writer or another sweep
 * changes nothing it should not.
 */
export async function sweepRetention(store: SnapshotStore, options: SweepOptions = {}): Promise<RetentionReport> {
  const policy = RetentionPolicy.parse(options.policy ?? DEFAULT_RETENTION);
  const now = options.now ?? Date.now();
  const dryRun = options.dryRun ?? false;
  const counts = Object.fromEntries(OutcomeGroup.options.map((g) => [g, { runs: 0, runsDeleted: 0, runsKept: 0, tracesDropped: 0, tracesKept: 0 }])) as Record<OutcomeGroup, { -readonly [K in keyof GroupCounts]: number }>;
  let quarantined = 0;
  let live = 0;
  for (const tree of treesOf(await store.list())) {
    const summaries = tree.members.map((m) => m.summary);
    quarantined += summaries.filter((s) => s.status === 'quarantined').length;
    if (summaries.some((s) => s.status !== 'done')) {
      live += summaries.filter((s) => s.status !== 'quarantined').length;
      continue;
    }
    const groups = new Set(summaries.map(ownGroup));
    const group = SEVERITY.find((g) => groups.has(g))!;
    const rule = policy[group];
    const c = counts[group];
    c.runs += summaries.length;
    const newest = Math.max(...summaries.map((s) => s.updatedAt));
    if (newest < now - rule.keepMs) {
      for (const { summary } of [...tree.members].sort((a, b) => b.depth - a.depth)) {
        const result = await store.retire({ runId: summary.runId, action: 'delete', updatedBefore: now - rule.keepMs, dryRun });
        if (result === 'deleted') c.runsDeleted++;
        else c.runsKept++;
      }
      continue;
    }
    c.runsKept += summaries.length;
    const sampled = traceSampled(tree.rootId, rule.traceSample);
    for (const summary of summaries) {
      if (sampled || summary.updatedAt >= now - rule.traceGraceMs) {
        c.tracesKept++;
        continue;
      }
      const result: RetireResult = await store.retire({ runId: summary.runId, action: 'drop-trace', updatedBefore: now - rule.traceGraceMs, dryRun });
      if (result === 'trace-dropped') c.tracesDropped++;
      else if (result === 'ineligible') c.tracesKept++;
    }
  }
  return { dryRun, at: now, groups: counts, quarantined, live };
}
