import { toErrorInfo } from '../machines/outcome.js';
import type { PipelineContext, StageResult } from '../machines/pipeline-context.js';
import { pipelineStateName, type PipelineMachine } from '../machines/pipeline-machine.js';
import type { RunStatus as StoredStatus } from '../persistence/records.js';
import { HostedRun, type AgentRunOptions, type RunOrigin, type RunView } from './agent-run.js';
import type { PipelineInput } from '../machines/pipeline-context.js';
import type { RunFacts } from './run-record.js';
import type { BudgetUse, RunStatus, Transition } from './status.js';

/** The persisted XState snapshot fields reins reads from a pipeline. */
interface PersistedPipelineSnapshot {
  readonly status: string;
  readonly value: unknown;
  readonly context: PipelineContext;
}

function storedStatus(snapshot: PersistedPipelineSnapshot): StoredStatus {
  if (snapshot.status === 'done' || snapshot.context.outcome !== null) return 'done';
  return pipelineStateName(snapshot.value) === 'paused' ? 'paused' : 'running';
}

/** The summary facts of a pipeline run's persisted snapshot: its stage is its state, its children's spend is its spend. */
export function pipelineFacts(json: unknown): RunFacts {
  const s = json as PersistedPipelineSnapshot;
  const ctx = s.context;
  return {
    runId: ctx.runId,
    agentId: ctx.agentId,
    status: storedStatus(s),
    state: pipelineStateName(s.value),
    step: ctx.step,
    turns: ctx.usage.turns,
    activeTool: null,
    costUsd: ctx.usage.costUsd,
    reason: ctx.outcome?.reason ?? null,
    outcome: ctx.outcome ?? null,
  };
}

/** The wall-clock budget of a pipeline (its only limit of its own; children have theirs). */
function budgetsOf(context: PipelineContext, now: number): BudgetUse[] {
  if (context.deadlineAt === null) return [];
  const limit = context.deadlineAt - context.startedAt;
  const elapsed = (context.outcome?.endedAt ?? now) - context.startedAt;
  return [{ budget: 'wallClockMs', used: elapsed, limit, share: elapsed / limit }];
}

/** The live status of a pipeline, in the shape every run's status has. */
export function pipelineStatus(context: PipelineContext, state: string, recent: readonly Transition[], now: number): RunStatus {
  return {
    runId: context.runId,
    agentId: context.agentId,
    status: context.outcome ? 'done' : state === 'paused' ? 'paused' : 'running',
    state,
    step: context.step,
    turns: context.usage.turns,
    activeTool: null,
    usage: context.usage,
    budgets: budgetsOf(context, now),
    pendingApproval: null,
    paused: context.paused,
    pauseRequested: context.pauseRequest !== null,
    outcome: context.outcome,
    recent,
    startedAt: context.startedAt,
  };
}

const PIPELINE_VIEW: RunView<PipelineMachine> = {
  stateName: pipelineStateName,
  status: (snapshot, state, recent, now) => pipelineStatus(snapshot.context, state, recent, now),
  transitionFacts: (snapshot) => ({ step: snapshot.context.step, stage: snapshot.context.phase, reason: snapshot.context.outcome?.reason }),
  crashed: (snapshot, where, error, now) => {
    const ctx = snapshot.context;
    return { reason: 'INTERNAL_ERROR', runId: ctx.runId, agentId: ctx.agentId, turns: ctx.usage.turns, usage: ctx.usage, endedAt: now, where, error: toErrorInfo(error), stage: ctx.phase };
  },
};

/** One pipeline run hosted in this process: operator controls, live status, its stages' results, and its one outcome. */
export class PipelineRun extends HostedRun<PipelineMachine> {
  constructor(machine: PipelineMachine, origin: RunOrigin<PipelineInput>, options: AgentRunOptions) {
    super(machine, origin, options, PIPELINE_VIEW);
  }

  /** The latest result of every stage that ran, with each child's attribution and outcome. */
  stages(): Readonly<Record<string, StageResult>> {
    return this.actor.getSnapshot().context.results;
  }

  /** The pipeline's own data, as the stages' merges left it. */
  data(): unknown {
    return this.actor.getSnapshot().context.data;
  }
}
