import { fromPromise } from 'xstate';
import type { z } from 'zod';
import { ProgressVerdict, type ProgressJudge, type ProgressJudgeInput } from '../guards/progress.js';
import type {
  ModelCallInput,
  ModelCallResult,
  ReconcileInput,
  ReconcileResult,
  ToolCallInput,
  ToolCallResult,
} from '../machines/agent-machine.js';
import { ModelResponse, type Message } from '../machines/model-types.js';
import { toErrorInfo } from '../machines/outcome.js';
import type { TranscriptStore } from '../persistence/transcript.js';
import { FatalToolError, ModelCallError, ModelTimeoutError, RetryableToolError, ToolTimeoutError } from './errors.js';
import type { CallJournal } from './call-journal.js';
import type { Logger } from './logger.js';
import type { Model, ToolSchema } from './model.js';
import { redact } from './redact.js';
import { withTimeout } from './timeout.js';
import type { ToolDefinition } from './tool.js';

type Json = z.core.util.JSONType;

/** Where a run's actors do their I/O: the transcript, the log, the clock, and (for durable runs) the journal and trace. */
export interface RunEnvironment {
  readonly transcripts: TranscriptStore<Message>;
  readonly logger: Logger;
  readonly now: () => number;
  readonly journal?: CallJournal;
  /** Receives one entry per model and tool call for the run's trace. */
  readonly trace?: (entry: { at: number; kind: 'model' | 'tool'; [key: string]: unknown }) => void;
}

/** The call a process died in: its outcome is unknown, so a non-idempotent tool must not be run again blindly. */
const INTERRUPTED = { name: 'InterruptedCall', message: 'the process stopped during this call; whether it took effect is unknown' };

/** The parts of an agent definition its actors call into. */
export interface ActorDeps {
  readonly agentId: string;
  readonly system: string;
  readonly model: Model;
  readonly modelTimeoutMs: number;
  readonly tools: ReadonlyMap<string, ToolDefinition>;
  readonly toolSchemas: readonly ToolSchema[];
  readonly judge: ProgressJudge;
  readonly secretKeys: readonly string[];
}

/** Tool results must survive JSON (they go to the model and the snapshot); undefined becomes null. */
function toJson(value: unknown, tool: string): Json {
  if (value === undefined) return null;
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (cause) {
    throw new FatalToolError(`${tool} returned a value that cannot be serialised as JSON`, { cause });
  }
  return text === undefined ? null : (JSON.parse(text) as Json);
}

/** How a thrown value classifies: the tool's own word when it gave one, unknown otherwise. */
function retryableFlag(error: unknown): boolean | undefined {
  if (error instanceof RetryableToolError) return true;
  if (error instanceof FatalToolError) return false;
  return undefined;
}

/**
 * The four actors the lifecycle machine invokes. Every thrown value from user
 * code inside a tool becomes a `CallFailure` (data); only a model adapter's
 * untyped throw or a judge's failure escapes, and the machine ends that run
 * INTERNAL_ERROR.
 */
export function buildActors(deps: ActorDeps, env: RunEnvironment) {
  const log = env.logger;
  return {
    callModel: fromPromise<ModelCallResult, ModelCallInput>(async ({ input, signal }) => {
      // A recorded response is returned as is: no second call, no second token bill. An interrupted one is simply re-asked.
      const recorded = await env.journal?.begin(input.idempotencyKey, input.step, signal);
      if (recorded?.kind === 'done') return recorded.result as ModelCallResult;
      const result = await askModel(input, signal);
      await env.journal?.finish(input.idempotencyKey, input.step, result);
      return result;
    }),

    callTool: fromPromise<ToolCallResult, ToolCallInput>(async ({ input, signal }) => {
      const recorded = await env.journal?.begin(input.idempotencyKey, input.step, signal);
      if (recorded?.kind === 'done') return recorded.result as ToolCallResult;
      if (recorded?.kind === 'interrupted' && deps.tools.get(input.call.name)?.sideEffect === 'non-idempotent') {
        log.warn({ runId: input.runId, agent: deps.agentId, tool: input.call.name, idempotencyKey: input.idempotencyKey }, 'interrupted call is in doubt');
        return { ok: false, error: INTERRUPTED, timedOut: true };
      }
      const result = await runTool(input, signal);
      await env.journal?.finish(input.idempotencyKey, input.step, result);
      return result;
    }),

    reconcileCall: fromPromise<ReconcileResult, ReconcileInput>(async ({ input, signal }) => {
      const def = deps.tools.get(input.tool);
      if (!def?.reconcile) throw new Error(`tool ${input.tool} has no reconcile`);
      const r = await def.reconcile(input.idempotencyKey, def.input.parse(input.input), { signal });
      log.info({ runId: input.runId, agent: deps.agentId, tool: input.tool, idempotencyKey: input.idempotencyKey, applied: r.applied }, 'reconciled');
      return r.applied ? { applied: true, result: toJson(r.result, input.tool) } : { applied: false };
    }),

    judgeProgress: fromPromise<ProgressVerdict, ProgressJudgeInput>(async ({ input }) => ProgressVerdict.parse(await deps.judge(input))),
  };

  async function askModel(input: ModelCallInput, signal: AbortSignal): Promise<ModelCallResult> {
    await env.transcripts.appendStep(input.runId, input.step, input.inbox);
    const messages = await env.transcripts.read(input.runId);
    const started = env.now();
    try {
      const raw = await withTimeout(
        (s) => deps.model.generate({ runId: input.runId, system: deps.system, messages, tools: deps.toolSchemas, signal: s, idempotencyKey: input.idempotencyKey }),
        deps.modelTimeoutMs,
        signal,
        () => new ModelTimeoutError(deps.modelTimeoutMs),
      );
      const response = ModelResponse.parse(raw);
      log.info(
        {
          runId: input.runId,
          agent: deps.agentId,
          step: input.step,
          attempt: input.attempt,
          model: response.modelId,
          latencyMs: env.now() - started,
          inputTokens: response.usage.inputTokens,
          outputTokens: response.usage.outputTokens,
          finishReason: response.finishReason,
          decision: response.type,
        },
        'model call',
      );
      env.trace?.({
        at: env.now(),
        kind: 'model',
        step: input.step,
        attempt: input.attempt,
        model: response.modelId,
        latencyMs: env.now() - started,
        usage: response.usage,
        finishReason: response.finishReason,
        decision: response.type,
      });
      return { ok: true, response };
    } catch (error) {
      const timedOut = error instanceof ModelTimeoutError;
      if (!(error instanceof ModelCallError) && !timedOut) throw error;
      const err = toErrorInfo(error);
      log.warn({ runId: input.runId, agent: deps.agentId, step: input.step, attempt: input.attempt, latencyMs: env.now() - started, err }, 'model call failed');
      env.trace?.({ at: env.now(), kind: 'model', step: input.step, attempt: input.attempt, latencyMs: env.now() - started, error: err.message });
      return { ok: false, error: err, ...(error instanceof ModelCallError ? { retryable: error.retryable } : {}), timedOut };
    }
  }

  async function runTool(input: ToolCallInput, signal: AbortSignal): Promise<ToolCallResult> {
    const def = deps.tools.get(input.call.name);
    const started = env.now();
    const fields = { runId: input.runId, agent: deps.agentId, step: input.step, attempt: input.attempt, tool: input.call.name };
    try {
      if (!def) throw new FatalToolError(`no tool named ${input.call.name}`);
      const parsed = def.input.parse(input.input);
      const value = await withTimeout(
        async (s) => def.run(parsed, { runId: input.runId, idempotencyKey: input.idempotencyKey, step: input.step, attempt: input.attempt, signal: s }),
        def.timeoutMs,
        signal,
        () => new ToolTimeoutError(def.name, def.timeoutMs),
      );
      const result = toJson(value, def.name);
      const latencyMs = env.now() - started;
      log.info({ ...fields, input: redact(input.input, deps.secretKeys), latencyMs, ok: true }, 'tool call');
      env.trace?.({ at: env.now(), kind: 'tool', step: input.step, attempt: input.attempt, tool: input.call.name, latencyMs, ok: true });
      return { ok: true, result };
    } catch (error) {
      const failure = { ok: false as const, error: toErrorInfo(error), timedOut: error instanceof ToolTimeoutError };
      const retryable = retryableFlag(error);
      const latencyMs = env.now() - started;
      log.warn({ ...fields, input: redact(input.input, deps.secretKeys), latencyMs, ok: false, err: failure.error }, 'tool call failed');
      env.trace?.({ at: env.now(), kind: 'tool', step: input.step, attempt: input.attempt, tool: input.call.name, latencyMs, ok: false, error: failure.error.message });
      return retryable === undefined ? failure : { ...failure, retryable };
    }
  }
}
