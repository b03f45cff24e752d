import { fromPromise, type Snapshot } from 'xstate';
import type { AgentEvent } from '../machines/agent-context.js';
import type { CompactionResult, JudgeResult } from '../machines/model-types.js';
import type {
  AgentMachine,
  CompactInput,
  JudgeInput,
  ModelCallInput,
  ModelCallResult,
  ReconcileInput,
  ReconcileResult,
  ToolCallInput,
  ToolCallResult,
} from '../machines/agent-machine.js';
import { AgentRun } from './agent-run.js';
import type { Logger } from './logger.js';

/** An actor that starts and never settles: applying an event offline must not call anything. */
const never = <O, I>() => fromPromise<O, I>(() => new Promise<O>(() => {}));

/**
 * Applies one operator event to a stored snapshot of a run nobody hosts (its
 * worker died): the machine decides the next state, but no model or tool is
 * invoked. Returns the new persisted snapshot.
 */
export function applyOffline(chart: AgentMachine, snapshot: Snapshot<unknown>, runId: string, agentId: string, event: AgentEvent, logger: Logger): Snapshot<unknown> {
  const inert = chart.provide({ actors: {
      callModel: never<ModelCallResult, ModelCallInput>(),
      callTool: never<ToolCallResult, ToolCallInput>(),
      reconcileCall: never<ReconcileResult, ReconcileInput>(),
      judgeProgress: never<JudgeResult, JudgeInput>(),
      compactTranscript: never<CompactionResult, CompactInput>(),
    } });
  const run = new AgentRun(inert, { snapshot, runId, agentId }, { logger, now: Date.now, redactArgs: (v) => v });
  run.start();
  run.send(event);
  const next = run.persisted();
  run.actor.stop();
  return next;
}
