import type { Snapshot } from 'xstate';
import type { AgentContext } from '../machines/agent-context.js';
import { stateName } from '../machines/agent-machine.js';
import { RECORD_SCHEMA, type RunRecord, type RunStatus, type RunSummary } from '../persistence/records.js';

/** The persisted XState snapshot fields reins reads. */
interface PersistedAgentSnapshot {
  readonly status: string;
  readonly value: unknown;
  readonly context: AgentContext;
}

/** What a stored summary says about a run, read from its persisted snapshot (one reader per kind of run). */
export type RunFacts = Omit<RunSummary, 'parentId' | 'createdAt' | 'updatedAt'> & { readonly outcome: unknown };

/** The run's operator-facing status from its snapshot. */
export function statusFromSnapshot(snapshot: PersistedAgentSnapshot): RunStatus {
  if (snapshot.status === 'done' || snapshot.context.outcome !== null) return 'done';
  return stateName(snapshot.value) === 'paused' ? 'paused' : 'running';
}

/** The summary facts of an agent run's persisted snapshot. */
export function agentFacts(json: unknown): RunFacts {
  const s = json as PersistedAgentSnapshot;
  const ctx = s.context;
  return {
    runId: ctx.runId,
    agentId: ctx.agentId,
    status: statusFromSnapshot(s),
    state: stateName(s.value),
    step: ctx.step,
    turns: ctx.usage.turns,
    activeTool: ctx.current?.call.name ?? null,
    costUsd: ctx.usage.costUsd,
    reason: ctx.outcome?.reason ?? null,
    outcome: ctx.outcome ?? null,
  };
}

/** The stored envelope of one persisted snapshot at `version`; `facts` reads the snapshot (an agent's by default). */
export function recordFrom(
  snapshot: Snapshot<unknown>,
  meta: { readonly machine: RunRecord['machine']; readonly version: number; readonly createdAt: number; readonly now: number; readonly parentId?: string | null },
  facts: (json: unknown) => RunFacts = agentFacts,
): RunRecord {
  // Stores serialise the record as they take it (undefined fields drop out there), so no JSON round trip here.
  const json = snapshot as unknown as RunRecord['snapshot'];
  const { outcome, ...summary } = facts(json);
  return {
    schema: RECORD_SCHEMA,
    machine: meta.machine,
    version: meta.version,
    summary: { ...summary, parentId: meta.parentId ?? null, createdAt: meta.createdAt, updatedAt: meta.now },
    snapshot: json,
    outcome: (outcome ?? null) as RunRecord['outcome'],
  };
}
