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
import type { Logger } from './logger.js';
import type { Model, ToolSchema } from './model.js';
import { redact } from './redact.js';
import { withTimeout } from './timeout.js';
import type { ToolDefinition } from './tool.js';

type Json = z.core.util.JSONType;

/** Where a run's actors do their I/O: the transcript, the log and the clock. */
export interface RunEnvironment {
  readonly transcripts: TranscriptStore<Message>;
  readonly logger: Logger;
  readonly now: () => number;
}

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
      await env.transcripts.appendStep(input.runId, input.step, input.inbox);
      const messages = await env.transcripts.read(input.runId);
      const started = env.now();
      try {
        const raw = await withTimeout(
          (s) => deps.model.generate({ system: deps.system, messages, tools: deps.toolSchemas, signal: s, idempotencyKey: input.idempotencyKey }),
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
        return { ok: true, response };
      } catch (error) {
        const timedOut = error instanceof ModelTimeoutError;
        if (!(error instanceof ModelCallError) && !timedOut) throw error;
        log.warn({ runId: input.runId, agent: deps.agentId, step: input.step, attempt: input.attempt, latencyMs: env.now() - started, err: toErrorInfo(error) }, 'model call failed');
        return { ok: false, error: toErrorInfo(error), ...(error instanceof ModelCallError ? { retryable: error.retryable } : {}), timedOut };
      }
    }),

    callTool: fromPromise<ToolCallResult, ToolCallInput>(async ({ input, signal }) => {
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
        log.info({ ...fields, input: redact(input.input, deps.secretKeys), latencyMs: env.now() - started, ok: true }, 'tool call');
        return { ok: true, result };
      } catch (error) {
        const failure = { ok: false as const, error: toErrorInfo(error), timedOut: error instanceof ToolTimeoutError };
        const retryable = retryableFlag(error);
        log.warn({ ...fields, input: redact(input.input, deps.secretKeys), latencyMs: env.now() - started, ok: false, err: failure.error }, 'tool call failed');
        return retryable === undefined ? failure : { ...failure, retryable };
      }
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
}
