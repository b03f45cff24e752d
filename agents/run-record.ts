import type { Snapshot } from 'xstate';
import type { AgentContext } from '../machines/agent-context.js';
import { stateName } from '../machines/agent-machine.js';
import { RECORD_SCHEMA, type RunRecord, type RunStatus } from '../persistence/records.js';

/** The persisted XState snapshot fields reins reads. */
interface PersistedAgentSnapshot {
  readonly status: string;
  readonly value: unknown;
  readonly context: AgentContext;
}

/** The run's operator-facing status from its snapshot. */
export function statusFromSnapshot(snapshot: PersistedAgentSnapshot): RunStatus {
  if (snapshot.status === 'done' || snapshot.context.outcome !== null) return 'done';
  return stateName(snapshot.value) === 'paused' ? 'paused' : 'running';
}

/** The stored envelope of one persisted snapshot at `version`. */
export function recordFrom(
  snapshot: Snapshot<unknown>,
  meta: { readonly machineId: string; readonly machineVersion: string; readonly version: number; readonly createdAt: number; readonly now: number; readonly parentId?: string | null },
): RunRecord {
  // XState's persisted snapshot may hold undefined fields; the stored envelope is plain JSON.
  const json = JSON.parse(JSON.stringify(snapshot)) as RunRecord['snapshot'];
  const s = json as unknown as PersistedAgentSnapshot;
  const ctx = s.context;
  const state = stateName(s.value);
  return {
    schema: RECORD_SCHEMA,
    machine: { id: meta.machineId, version: meta.machineVersion },
    version: meta.version,
    summary: {
      runId: ctx.runId,
      agentId: ctx.agentId,
      parentId: meta.parentId ?? null,
      status: statusFromSnapshot(s),
      state,
      step: ctx.step,
      turns: ctx.usage.turns,
      activeTool: ctx.current?.call.name ?? null,
      costUsd: ctx.usage.costUsd,
      reason: ctx.outcome?.reason ?? null,
      createdAt: meta.createdAt,
      updatedAt: meta.now,
    },
    snapshot: json,
    outcome: (ctx.outcome ?? null) as RunRecord['outcome'],
  };
}
