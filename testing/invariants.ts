import type { Agent } from '../agents/define-agent.js';
import { TerminalOutcome, type TerminalReason } from '../machines/outcome.js';
import type { TraceEntry } from '../persistence/records.js';
import type { SnapshotStore } from '../persistence/store.js';
import type { CallRecord } from './mock-tool.js';

/** Which invariant a path broke. */
export type ViolationKind = 'outcome' | 'duplicate-effect' | 'budget-overrun' | 'paused-timeout' | 'unhandled-child-reason' | 'forbidden-reason';

/** One broken invariant, with what an engineer reads first. */
export interface Violation {
  readonly kind: ViolationKind;
  readonly message: string;
  readonly runId: string;
  /** For an unhandled child reason: the stage and the reason no route handled. */
  readonly stage?: string;
  readonly reason?: TerminalReason;
}

/** What a path's invariants are checked against. */
export interface PathFacts {
  readonly rootId: string;
  readonly isPipeline: boolean;
  readonly outcome: TerminalOutcome;
  readonly store: SnapshotStore;
  readonly calls: readonly CallRecord[];
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly agents: ReadonlyMap<string, Agent<any>>;
  readonly forbid: readonly TerminalReason[];
  /** Child reasons a pipeline means to absorb: `<stage>:<reason>`. */
  readonly tolerate: ReadonlySet<string>;
}

const BUDGETS = [
  ['maxInputTokens', (u: Usage) => u.inputTokens],
  ['maxOutputTokens', (u: Usage) => u.outputTokens],
  ['maxTotalTokens', (u: Usage) => u.inputTokens + u.outputTokens],
  ['maxCostUsd', (u: Usage) => u.costUsd],
] as const;
type Usage = { inputTokens: number; outputTokens: number; costUsd: number };

/** The stage of a pipeline child run id `<parent>.<stage>.<index>[.<visit>]`. */
function stageOf(rootId: string, runId: string): string {
  return runId.slice(rootId.length + 1).split('.')[0] ?? '';
}

/** Checks every invariant of one finished path; returns the violations (empty: the path is fine). */
export async function checkPath(facts: PathFacts): Promise<Violation[]> {
  const out: Violation[] = [];
  const runs = await facts.store.list({});
  for (const summary of runs) {
    const record = await facts.store.load(summary.runId);
    const outcome = record?.outcome as TerminalOutcome | null | undefined;
    // Exactly one final state, whose outcome parses: every run of the tree ended, typed.
    if (summary.status !== 'done' || !outcome) {
      out.push({ kind: 'outcome', runId: summary.runId, message: `run ${summary.runId} did not end (status ${summary.status})` });
      continue;
    }
    const parsed = TerminalOutcome.safeParse(outcome);
    if (!parsed.success) out.push({ kind: 'outcome', runId: summary.runId, message: `run ${summary.runId} ended with an outcome that does not parse: ${parsed.error.message}` });
    if (facts.forbid.includes(outcome.reason)) out.push({ kind: 'forbidden-reason', runId: summary.runId, reason: outcome.reason, message: `run ${summary.runId} ended ${outcome.reason}` });
    // A paused run never times out.
    if (outcome.reason === 'TIMEOUT' && outcome.state === 'paused') out.push({ kind: 'paused-timeout', runId: summary.runId, message: `run ${summary.runId} timed out while paused` });
    const agent = facts.agents.get(summary.agentId);
    if (agent) out.push(...budgetOverruns(summary.runId, agent, outcome, await facts.store.traceRead(summary.runId)));
  }
  if (facts.outcome.reason !== (runs.find((r) => r.runId === facts.rootId)?.reason ?? null)) {
    out.push({ kind: 'outcome', runId: facts.rootId, message: `the run reported ${facts.outcome.reason} but its stored record says otherwise` });
  }
  out.push(...duplicateEffects(facts));
  if (facts.isPipeline) out.push(...(await unhandledChildReasons(facts)));
  return out;
}

/** No side effect twice: a non-idempotent tool takes effect at most once per logical call. */
function duplicateEffects(facts: PathFacts): Violation[] {
  const out: Violation[] = [];
  const applied = new Map<string, CallRecord[]>();
  for (const c of facts.calls) {
    if (!c.applied) continue;
    applied.set(c.logicalCall, [...(applied.get(c.logicalCall) ?? []), c]);
  }
  for (const [call, list] of applied) {
    const tool = list[0]!.tool;
    const nonIdempotent = [...facts.agents.values()].some((a) => a.tools.get(tool)?.sideEffect === 'non-idempotent');
    if (nonIdempotent && list.length > 1) {
      out.push({ kind: 'duplicate-effect', runId: list[0]!.runId, message: `${tool} took effect ${list.length} times for one logical call (${call}), attempts ${list.map((c) => c.attempt).join(', ')}` });
    }
  }
  return out;
}

/** Budgets are never overrun by more than the one call that crossed them. */
function budgetOverruns(runId: string, agent: Agent<unknown>, outcome: TerminalOutcome, trace: readonly TraceEntry[]): Violation[] {
  const out: Violation[] = [];
  const limits = agent.limits as Record<string, number | undefined>;
  const last = [...trace].reverse().find((e) => e.kind === 'model' && 'usage' in e) as (TraceEntry & { usage: Usage; costUsd?: number }) | undefined;
  const lastUsage: Usage = { inputTokens: last?.usage.inputTokens ?? 0, outputTokens: last?.usage.outputTokens ?? 0, costUsd: last?.costUsd ?? 0 };
  const maxTurns = limits.maxTurns;
  if (maxTurns !== undefined && outcome.turns - 1 > maxTurns) out.push({ kind: 'budget-overrun', runId, message: `run ${runId} took ${outcome.turns} turns over a limit of ${maxTurns}` });
  for (const [name, used] of BUDGETS) {
    const limit = limits[name];
    if (limit !== undefined && used(outcome.usage) - used(lastUsage) > limit) {
      out.push({ kind: 'budget-overrun', runId, message: `run ${runId} spent ${used(outcome.usage)} against ${name} ${limit}, more than the last call over` });
    }
  }
  return out;
}

/**
 * Every reason a child can end with is handled: a pipeline that throws on a
 * child's outcome (INTERNAL_ERROR), or completes as if a child that failed
 * had not (a failure hidden behind success), did not handle it.
 */
async function unhandledChildReasons(facts: PathFacts): Promise<Violation[]> {
  const { outcome, rootId } = facts;
  if (outcome.reason !== 'COMPLETED' && outcome.reason !== 'INTERNAL_ERROR') return [];
  const out: Violation[] = [];
  for (const child of await facts.store.list({ parentId: rootId })) {
    const reason = child.reason as TerminalReason | null;
    if (!reason || reason === 'COMPLETED') continue;
    const record = await facts.store.load(child.runId);
    const childOutcome = record?.outcome as TerminalOutcome | undefined;
    // Children the pipeline cancelled itself (a sibling failed, a quorum was met) were handled by the stage's policy.
    if (childOutcome?.reason === 'USER_KILLED' && childOutcome.by === 'reins') continue;
    const stage = stageOf(rootId, child.runId);
    if (facts.tolerate.has(`${stage}:${reason}`)) continue;
    const how = outcome.reason === 'COMPLETED' ? 'the pipeline completed as if it had not happened' : 'the pipeline failed on it (INTERNAL_ERROR)';
    out.push({ kind: 'unhandled-child-reason', runId: child.runId, stage, reason, message: `stage ${stage}: child ${child.runId} ended ${reason} and no route handles it; ${how}` });
  }
  return out;
}
