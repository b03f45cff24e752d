import { fromPromise } from 'xstate';
import type { z } from 'zod';
import { costOf, type PriceTable } from '../guards/cost.js';
import { heuristicJudge, type ProgressJudge } from '../guards/progress.js';
import type {
  CompactInput,
  JudgeInput,
  ModelCallInput,
  ModelCallResult,
  ReconcileInput,
  ReconcileResult,
  ToolCallInput,
  ToolCallResult,
} from '../machines/agent-machine.js';
import { CompactionResult, JudgeResult, ModelResponse, type Message, type TranscriptEntry } from '../machines/model-types.js';
import { toErrorInfo } from '../machines/outcome.js';
import type { TranscriptStore } from '../persistence/transcript.js';
import { FatalToolError, ModelCallError, ModelTimeoutError, RetryableToolError, ToolTimeoutError } from './errors.js';
import type { CallJournal } from './call-journal.js';
import { compactTranscript, transcriptView, type CompactionSetup } from './compaction.js';
import type { Logger } from './logger.js';
import type { Model, ToolSchema } from './model.js';
import { redact } from './redact.js';
import { withTimeout } from './timeout.js';
import type { ToolDefinition } from './tool.js';

type Json = z.core.util.JSONType;

/** Where a run's actors do their I/O: the transcript, the log, the clock, and (for durable runs) the journal and trace. */
export interface RunEnvironment {
  /** Messages and compaction markers; the model reads them through `transcriptView`. */
  readonly transcripts: TranscriptStore<TranscriptEntry>;
  readonly logger: Logger;
  readonly now: () => number;
  readonly journal?: CallJournal;
  /** Receives one entry per model call, tool call, progress check and compaction for the run's trace. */
  readonly trace?: (entry: { at: number; kind: 'model' | 'tool' | 'judge' | 'compaction'; [key: string]: unknown }) => void;
}

/**
 * What a progress judge receives: the guard's input, and for a judge that
 * reads (a model-backed one) the run, its messages as the model sees them,
 * the tokens judges have spent in it so far, and the abort signal.
 */
export type JudgeCall = Parameters<ProgressJudge>[0] & {
  readonly runId: string;
  readonly messages: readonly Message[];
  readonly judgeTokens: number;
  readonly signal: AbortSignal;
};

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
  readonly prices: PriceTable;
  /** null when compaction is off (the machine then never enters `compacting`). */
  readonly compaction: CompactionSetup | null;
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

    judgeProgress: fromPromise<JudgeResult, JudgeInput>(async ({ input, signal }) => {
      // A model judge costs tokens: a re-invoked check returns its recorded verdict instead of asking again.
      const key = `${input.runId}:${input.step}:judge-${input.check}`;
      const recorded = await env.journal?.begin(key, input.step, signal);
      if (recorded?.kind === 'done') return recorded.result as JudgeResult;
      const started = env.now();
      const messages = [...transcriptView(await env.transcripts.read(input.runId)), ...input.inbox];
      const call: JudgeCall = {
        goal: input.goal,
        recentSteps: input.recentSteps,
        earlierSteps: input.earlierSteps,
        runId: input.runId,
        messages,
        judgeTokens: input.judgeTokens,
        signal,
      };
      const judged = JudgeResult.parse(await deps.judge(call));
      const verdict = { ...judged, judge: judged.judge ?? (deps.judge === heuristicJudge ? 'heuristic' : 'custom') };
      await env.journal?.finish(key, input.step, verdict);
      const spend = verdict.spend ?? null;
      log.info(
        { runId: input.runId, agent: deps.agentId, step: input.step, judge: verdict.judge, progressing: verdict.progressing, latencyMs: env.now() - started, ...spendFields(spend) },
        'progress check',
      );
      env.trace?.({
        at: env.now(),
        kind: 'judge',
        step: input.step,
        check: input.check,
        judge: verdict.judge,
        progressing: verdict.progressing,
        why: verdict.why,
        latencyMs: env.now() - started,
        ...(spend ? { model: spend.modelId, usage: spend.usage, costUsd: costOf(spend.modelId, spend.usage, deps.prices) } : {}),
      });
      return verdict;
    }),

    compactTranscript: fromPromise<CompactionResult, CompactInput>(async ({ input, signal }) => {
      if (!deps.compaction) throw new Error('compaction is off for this agent, yet the run entered compacting');
      const recorded = await env.journal?.begin(input.idempotencyKey, input.step, signal);
      if (recorded?.kind === 'done') return recorded.result as CompactionResult;
      const started = env.now();
      const report = await compactTranscript(env.transcripts, deps.compaction, input, signal);
      const result = CompactionResult.parse(report.result);
      await env.journal?.finish(input.idempotencyKey, input.step, result);
      const fields = {
        runId: input.runId,
        agent: deps.agentId,
        step: input.step,
        reason: input.reason,
        contextTokens: input.contextTokens,
        compacted: result.compacted,
        by: result.by,
        replaced: result.replaced,
        messagesBefore: report.before,
        messagesAfter: report.after,
        latencyMs: env.now() - started,
        ...(report.fallback ? { fallback: report.fallback } : {}),
        ...spendFields(result.spend),
      };
      log.info(fields, 'compaction');
      env.trace?.({
        at: env.now(),
        kind: 'compaction',
        step: input.step,
        reason: input.reason,
        contextTokens: input.contextTokens,
        compacted: result.compacted,
        by: result.by,
        replaced: result.replaced,
        messagesBefore: report.before,
        messagesAfter: report.after,
        ...(report.repeated ? { repeated: true } : {}),
        ...(report.fallback ? { fallback: report.fallback } : {}),
        ...(result.spend ? { model: result.spend.modelId, usage: result.spend.usage, costUsd: costOf(result.spend.modelId, result.spend.usage, deps.prices) } : {}),
      });
      return result;
    }),
  };

  /** Log fields for a helper model's spend. */
  function spendFields(spend: JudgeResult['spend']) {
    return spend
      ? { model: spend.modelId, inputTokens: spend.usage.inputTokens, outputTokens: spend.usage.outputTokens, costUsd: costOf(spend.modelId, spend.usage, deps.prices) }
      : {};
  }

  async function askModel(input: ModelCallInput, signal: AbortSignal): Promise<ModelCallResult> {
    await env.transcripts.appendStep(input.runId, input.step, input.inbox);
    const messages = transcriptView(await env.transcripts.read(input.runId));
    const started = env.now();
    try {
      const raw = await withTimeout(
        (s) =>
          deps.model.generate({
            runId: input.runId,
            system: deps.system,
            messages,
            tools: deps.toolSchemas,
            signal: s,
            idempotencyKey: input.idempotencyKey,
            ...(input.raiseOutputLimit ? { raiseOutputLimit: true } : {}),
          }),
        deps.modelTimeoutMs,
        signal,
        () => new ModelTimeoutError(deps.modelTimeoutMs),
      );
      const response = ModelResponse.parse(raw);
      const costUsd = costOf(response.modelId, response.usage, deps.prices);
      const latencyMs = env.now() - started;
      log.info(
        {
          runId: input.runId,
          agent: deps.agentId,
          step: input.step,
          attempt: input.attempt,
          model: response.modelId,
          latencyMs,
          inputTokens: response.usage.inputTokens,
          outputTokens: response.usage.outputTokens,
          cachedInputTokens: response.usage.cachedInputTokens,
          reasoningTokens: response.usage.reasoningTokens,
          costUsd,
          finishReason: response.finishReason,
          rawFinishReason: response.rawFinishReason,
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
        latencyMs,
        usage: response.usage,
        costUsd,
        finishReason: response.finishReason,
        rawFinishReason: response.rawFinishReason,
        decision: response.type,
        ...(input.raiseOutputLimit ? { raisedOutputLimit: true } : {}),
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
