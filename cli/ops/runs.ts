import { redact, DEFAULT_SECRET_KEYS } from '../../agents/redact.js';
import { statusOf, type BudgetUse } from '../../agents/status.js';
import type { AgentContext } from '../../machines/agent-context.js';
import { FIRST_CHART_VERSION } from '../../machines/migrations/index.js';
import type { TerminalOutcome } from '../../machines/outcome.js';
import { RunNotFoundError } from '../../agents/errors.js';
import type { RunFilter, RunRecord, RunSummary, TraceEntry } from '../../persistence/records.js';
import type { SnapshotStore } from '../../persistence/store.js';

/** A run's status as operators filter on it: the store's, with `awaiting-approval` split out of running. */
export type RunState = 'running' | 'awaiting-approval' | 'paused' | 'done' | 'quarantined';
export const RUN_STATES: readonly RunState[] = ['running', 'awaiting-approval', 'paused', 'done', 'quarantined'];

/** One run as `reins ps`, `reins show` and the console show it; JSON-safe. */
export interface RunView {
  readonly runId: string;
  readonly agentId: string;
  readonly parentId: string | null;
  readonly status: RunState;
  readonly state: string;
  readonly step: number;
  readonly turns: number;
  readonly activeTool: string | null;
  readonly costUsd: number;
  readonly reason: string | null;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly ageMs: number;
  /** The agent (or pipeline) version and chart version the run is stored by (its fleet route), or null when the record was not read. */
  readonly version: { readonly agent: string; readonly chart: number } | null;
  /** The worker holding a live lease on the run, or null (ended, or nobody hosts it). */
  readonly owner: string | null;
  readonly budgets: readonly BudgetUse[];
  readonly pendingApproval: { readonly tool: string; readonly arguments: unknown; readonly dueAt: number | null } | null;
  readonly paused: { readonly by: string; readonly why: string; readonly at: number } | null;
  readonly pauseRequested: boolean;
}

/** Filters of `reins ps` (and the console's run list). */
export interface RunQuery {
  readonly status?: RunState;
  readonly agentId?: string;
  readonly reason?: string;
  readonly limit?: number;
}

/** The persisted XState snapshot fields a view reads. */
interface StoredSnapshot {
  readonly value: unknown;
  readonly context: AgentContext;
}

const snapshotOf = (record: RunRecord | null) => (record?.snapshot ?? null) as unknown as StoredSnapshot | null;

/** The view of one run from its summary, its record (for budgets and approvals) and its lease. */
export function runView(summary: RunSummary, record: RunRecord | null, owner: string | null, now: number): RunView {
  const snapshot = snapshotOf(record);
  const live = snapshot ? statusOf(summary.state, snapshot.context, [], now, (v) => redact(v, DEFAULT_SECRET_KEYS)) : null;
  const awaiting = summary.status === 'running' && summary.state === 'awaitingApproval';
  return {
    runId: summary.runId,
    agentId: summary.agentId,
    parentId: summary.parentId,
    status: awaiting ? 'awaiting-approval' : summary.status,
    state: summary.state,
    step: summary.step,
    turns: summary.turns,
    activeTool: live ? live.activeTool : summary.activeTool,
    costUsd: summary.costUsd,
    reason: summary.reason,
    createdAt: summary.createdAt,
    updatedAt: summary.updatedAt,
    ageMs: now - summary.createdAt,
    version: record ? { agent: record.machine.version, chart: record.machine.chart ?? FIRST_CHART_VERSION } : null,
    owner: summary.status === 'done' ? null : owner,
    budgets: live?.budgets ?? [],
    pendingApproval: live?.pendingApproval ?? null,
    paused: live?.paused ?? null,
    pauseRequested: live?.pauseRequested ?? false,
  };
}

/** The store filter for a query: awaiting-approval is a running run in one state. */
function storeFilter(query: RunQuery): RunFilter {
  const status = query.status === 'awaiting-approval' ? 'running' : query.status;
  return { ...(status ? { status } : {}), ...(query.agentId ? { agentId: query.agentId } : {}), ...(query.reason ? { reason: query.reason } : {}) };
}

/** The live lease holder of a run, if any. */
async function ownerOf(store: SnapshotStore, runId: string, now: number): Promise<string | null> {
  const lease = await store.readLease(runId);
  return lease && lease.expiresAt > now ? lease.owner : null;
}

/** Loads what a view needs beyond the summary; a record that will not load (quarantined, deleted meanwhile) leaves the summary alone. */
async function viewOf(store: SnapshotStore, summary: RunSummary, now: number): Promise<RunView> {
  if (summary.status === 'quarantined') return runView(summary, null, null, now);
  const [record, owner] = await Promise.all([store.load(summary.runId).catch(() => null), summary.status === 'done' ? null : ownerOf(store, summary.runId, now)]);
  return runView(record?.summary ?? summary, record, owner, now);
}

/** Matching runs, most recently updated first, with at most `limit` views built; `total` counts every match. */
export async function listRuns(store: SnapshotStore, query: RunQuery = {}, now = Date.now()): Promise<{ runs: RunView[]; total: number }> {
  let summaries = await store.list(storeFilter(query));
  if (query.status === 'awaiting-approval') summaries = summaries.filter((s) => s.state === 'awaitingApproval');
  else if (query.status === 'running') summaries = summaries.filter((s) => s.state !== 'awaitingApproval');
  const shown = query.limit === undefined ? summaries : summaries.slice(0, query.limit);
  const runs: RunView[] = [];
  // A few at a time: enough to overlap store round trips without opening hundreds at once.
  for (let i = 0; i < shown.length; i += 16) runs.push(...(await Promise.all(shown.slice(i, i + 16).map((s) => viewOf(store, s, now)))));
  return { runs, total: summaries.length };
}

/** One line of a run's timeline: a transition, a model or tool call, a progress check, a compaction, an operator command. */
export type TimelineEntry = TraceEntry;

/** Everything `reins show` prints about a run. */
export interface RunDetail {
  readonly run: RunView;
  readonly goal: string | null;
  readonly limits: AgentContext['limits'] | null;
  readonly usage: AgentContext['usage'] | null;
  /** The XState state value, for the statechart view. */
  readonly stateValue: unknown;
  readonly machine: RunRecord['machine'] | null;
  readonly outcome: TerminalOutcome | null;
  readonly timeline: readonly TimelineEntry[];
  readonly children: readonly RunView[];
}

/** A run's detail; RunNotFoundError (exit 3) when the store has no such run. */
export async function showRun(store: SnapshotStore, runId: string, options: { timelineLimit?: number } = {}, now = Date.now()): Promise<RunDetail> {
  const record = await store.load(runId);
  if (!record) throw new RunNotFoundError(runId);
  const [owner, timeline, children] = await Promise.all([
    record.summary.status === 'done' ? null : ownerOf(store, runId, now),
    store.traceRead(runId, options.timelineLimit ?? 500),
    store.list({ parentId: runId }),
  ]);
  const snapshot = snapshotOf(record);
  const outcome = (record.outcome ?? snapshot?.context.outcome ?? null) as TerminalOutcome | null;
  return {
    run: runView(record.summary, record, owner, now),
    goal: snapshot?.context.goal ?? null,
    limits: snapshot?.context.limits ?? null,
    usage: snapshot?.context.usage ?? outcome?.usage ?? null,
    stateValue: snapshot?.value ?? null,
    machine: record.machine,
    outcome,
    timeline,
    children: children.map((c) => runView(c, null, null, now)),
  };
}
