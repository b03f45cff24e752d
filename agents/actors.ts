import { fromPromise } from 'xstate';
import type { z } from 'zod';
import { costOf, type PriceTable } from '../guards/cost.js';
import { heuristicJudge, type ProgressJudge } from '../guards/progress.js';
import type {
  CallFailure,
  CompactInput,
  JudgeInput,
  ModelCallInput,
  ModelCallResult,
  RateRefusal,
  ReconcileInput,
  ReconcileResult,
  ToolCallInput,
  ToolCallResult,
  VerifyInput,
} from '../machines/agent-machine.js';
import { journalKeyOf } from '../machines/agent-machine.js';
import { CompactionResult, JudgeResult, ModelResponse, type Message, type TranscriptEntry, type VerifyResult } from '../machines/model-types.js';
import { toErrorInfo } from '../machines/outcome.js';
import type { TranscriptStore } from '../persistence/transcript.js';
import { StoreError } from '../persistence/errors.js';
import { FatalToolError, ModelCallError, ModelTimeoutError, RetryableToolError, ToolTimeoutError } from './errors.js';
import type { CallJournal } from './call-journal.js';
import { compactTranscript, transcriptView, type CompactionSetup } from './compaction.js';
import type { Logger } from './logger.js';
import type { Model, ToolSchema } from './model.js';
import { hiddenFailure, outputProblem } from './output-check.js';
import { processRateLimiter, rateKey, type RateLimiter } from './rate-limits.js';
import { redact } from './redact.js';
import { sleepUntil, withTimeout } from './timeout.js';
import { checkAnswer, type AnswerCheck } from './verify.js';
import { BudgetExceededError, SpentResult, type ChildStarter, type ToolDefinition } from './tool.js';

type Json = z.core.util.JSONType;

/** The actor system a run's actors share (XState does not export its type under a name). */
export type RunSystem = Parameters<Parameters<typeof fromPromise>[0]>[0]['system'];

/** Where a run's actors do their I/O: the transcript, the log, the clock, and (for durable runs) the journal and trace. */
export interface RunEnvironment {
  /** Messages and compaction markers; the model reads them through `transcriptView`. */
  readonly transcripts: TranscriptStore<TranscriptEntry>;
  readonly logger: Logger;
  readonly now: () => number;
  readonly journal?: CallJournal;
  /** Receives one entry per model call, tool call, progress check, compaction and rate-limit decision for the run's trace. */
  readonly trace?: (entry: { at: number; kind: 'model' | 'tool' | 'judge' | 'compaction' | 'rate' | 'verify'; [key: string]: unknown }) => void;
  /** Where rate-limited tools take tokens; the agent's `rateLimiter`, else one per process, when absent. */
  readonly rateLimiter?: RateLimiter;
  /** Child runs of this run, when its host provides them (sub-agent tools start their children here). */
  readonly children?: ChildStarter;
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
  /** How answers are checked before COMPLETED; null when they are not (the machine then never enters `verifying`). */
  readonly answerCheck: AnswerCheck | null;
  /** The agent's rate limiter (a store's, to share limits across workers); the environment's wins. */
  readonly rateLimiter?: RateLimiter | (() => RateLimiter) | null;
}

/** How long a rate-limited call waits before asking again while the store cannot be reached. */
const RATE_STORE_RETRY_MS = 1_000;

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
 * The actors the lifecycle machine invokes, built once per agent: each call
 * finds its run's environment through the actor system it runs in (every
 * actor of one run shares its root's system). One machine then serves every
 * run; giving each run a machine of its own (`machine.provide`) rebuilt the
 * whole chart per run, which cost more than the run's first turns.
 */
export function buildActors(deps: ActorDeps, envOf: (system: RunSystem) => RunEnvironment) {
  const bound = new WeakMap<RunSystem, ReturnType<typeof callsFor>>();
  const callsOf = (system: RunSystem) => {
    let calls = bound.get(system);
    if (!calls) bound.set(system, (calls = callsFor(deps, envOf(system))));
    return calls;
  };
  return {
    callModel: fromPromise<ModelCallResult, ModelCallInput>((a) => callsOf(a.system).callModel(a)),
    callTool: fromPromise<ToolCallResult, ToolCallInput>((a) => callsOf(a.system).callTool(a)),
    reconcileCall: fromPromise<ReconcileResult, ReconcileInput>((a) => callsOf(a.system).reconcileCall(a)),
    judgeProgress: fromPromise<JudgeResult, JudgeInput>((a) => callsOf(a.system).judgeProgress(a)),
    compactTranscript: fromPromise<CompactionResult, CompactInput>((a) => callsOf(a.system).compactTranscript(a)),
    verifyAnswer: fromPromise<VerifyResult, VerifyInput>((a) => callsOf(a.system).verifyAnswer(a)),
  };
}

/** What every call receives from its actor. */
interface CallArgs<I> {
  readonly input: I;
  readonly signal: AbortSignal;
}

/**
 * The calls of one run, bound to its environment. Every thrown value from
 * user code inside a tool becomes a `CallFailure` (data); only a model
 * adapter's untyped throw or a judge's failure escapes, and the machine ends
 * that run INTERNAL_ERROR.
 */
function callsFor(deps: ActorDeps, env: RunEnvironment) {
  const log = env.logger;
  let warnedLocal = false;
  const limiter = (): RateLimiter => {
    // The agent's own choice first, then the host's (a Supervisor shares its store's buckets), then this process.
    const chosen = (typeof deps.rateLimiter === 'function' ? deps.rateLimiter() : deps.rateLimiter) ?? env.rateLimiter ?? processRateLimiter;
    if (!chosen.shared && env.journal && !warnedLocal) {
      // A durable run on a store, limited per process: N workers would each allow the whole limit.
      warnedLocal = true;
      log.warn({ agent: deps.agentId }, 'rate limits are kept in this process only; give the agent rateLimiter: storeRateLimiter(store) to share them across workers');
    }
    return chosen;
  };
  /** The bucket of a rate-limited call, or null when its tool has no limit. */
  const bucketOf = (tool: string, input: unknown): { def: ToolDefinition; key: string } | null => {
    const def = deps.tools.get(tool);
    if (!def?.rateLimit) return null;
    return { def, key: rateKey(def.rateLimit.bucket, def.rateLimit.key(def.input.parse(input))) };
  };
  return {
    callModel: async ({ input, signal }: CallArgs<ModelCallInput>): Promise<ModelCallResult> => {
      // A recorded response is returned as is: no second call, no second token bill. An interrupted one is simply re-asked.
      // The attempt's checkpoint is derived here, not carried in the invoke's input: inputs are part of persisted snapshots.
      const journalKey = journalKeyOf(input.runId, input);
      const recorded = await env.journal?.begin(journalKey, input.step, signal, 'billed');
      if (recorded?.kind === 'done') return recorded.result as ModelCallResult;
      const result = await askModel(input, signal);
      await env.journal?.finish(journalKey, input.step, result);
      return result;
    },

    callTool: async ({ input, signal }: CallArgs<ToolCallInput>): Promise<ToolCallResult> => {
      const bucket = bucketOf(input.call.name, input.input);
      let holding = false;
      try {
        const def = deps.tools.get(input.call.name);
        const sideEffect = def?.sideEffect;
        // Only a call that acts on the world waits for its checkpoint; a tool without side effects is simply run again after a crash.
        const kind = sideEffect === undefined || sideEffect === 'none' ? 'pure' : 'acts';
        const recorded = await env.journal?.begin(input.journalKey, input.step, signal, kind, def?.timeoutMs);
        if (recorded?.kind === 'done') return recorded.result as ToolCallResult;
        if (recorded?.kind === 'interrupted' && sideEffect === 'non-idempotent') {
          const fields = { runId: input.runId, agent: deps.agentId, tool: input.call.name, idempotencyKey: input.idempotencyKey, attempt: input.attempt };
          // The previous owner may still be inside this call (frozen, or slow to notice it lost the run): nothing
          // about it is decided, reconciled or retried until its window has closed. The run waits here, durably:
          // a new owner finds the same `started` and waits for the same instant.
          if (recorded.closesAt > env.now()) {
            log.warn({ ...fields, closesAt: recorded.closesAt }, 'interrupted call: waiting for its previous owner\'s window to close');
            await sleepUntil(recorded.closesAt, env.now, signal);
          }
          log.warn(fields, 'interrupted call is in doubt');
          return { ok: false, error: INTERRUPTED, timedOut: true };
        }
        if (bucket) {
          // The token is taken here, after the checkpoint and right before the call: the limit paces the calls
          // themselves, not the writes that precede them. A refused try is journaled; the next try has its own key.
          const refusal = await takeToken(bucket, input);
          if (refusal) {
            await env.journal?.finish(input.journalKey, input.step, refusal);
            return refusal;
          }
          holding = true;
        }
        const result = await runTool(input, signal);
        await env.journal?.finish(input.journalKey, input.step, result);
        return result;
      } finally {
        // The concurrency slot is held from the grant until the call settles (a holder that dies frees it at its TTL).
        if (holding && bucket?.def.rateLimit?.policy.concurrency !== undefined) await releaseSlot(bucket.key, input.idempotencyKey);
      }
    },

    reconcileCall: async ({ input, signal }: CallArgs<ReconcileInput>): Promise<ReconcileResult> => {
      const def = deps.tools.get(input.tool);
      if (!def?.reconcile) throw new Error(`tool ${input.tool} has no reconcile`);
      const r = await def.reconcile(input.idempotencyKey, def.input.parse(input.input), { signal });
      log.info({ runId: input.runId, agent: deps.agentId, tool: input.tool, idempotencyKey: input.idempotencyKey, applied: r.applied }, 'reconciled');
      return r.applied ? { applied: true, result: toJson(r.result, input.tool) } : { applied: false };
    },

    judgeProgress: async ({ input, signal }: CallArgs<JudgeInput>): Promise<JudgeResult> => {
      // A model judge costs tokens: a re-invoked check returns its recorded verdict instead of asking again.
      const key = `${input.runId}:${input.step}:judge-${input.check}`;
      const recorded = await env.journal?.begin(key, input.step, signal, 'billed');
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
    },

    verifyAnswer: async ({ input, signal }: CallArgs<VerifyInput>): Promise<VerifyResult> => {
      if (!deps.answerCheck) throw new Error('answers are not checked for this agent, yet the run entered verifying');
      return checkAnswer(deps.answerCheck, env, deps.prices, deps.agentId, input, signal);
    },

    compactTranscript: async ({ input, signal }: CallArgs<CompactInput>): Promise<CompactionResult> => {
      if (!deps.compaction) throw new Error('compaction is off for this agent, yet the run entered compacting');
      const recorded = await env.journal?.begin(input.idempotencyKey, input.step, signal, 'billed');
      if (recorded?.kind === 'done') return recorded.result as CompactionResult;
      const started = env.now();
      const report = await compactTranscript(env.transcripts, deps.compaction, input, signal);
      const result = CompactionResult.parse(report.result);
      await env.journal?.finish(input.idempotencyKey, input.step, result);
      // What happened, once: the log line and the trace entry both carry it.
      const happened = {
        step: input.step,
        reason: input.reason,
        contextTokens: input.contextTokens,
        compacted: result.compacted,
        by: result.by,
        replaced: result.replaced,
        messagesBefore: report.before,
        messagesAfter: report.after,
        ...(report.fallback ? { fallback: report.fallback } : {}),
      };
      log.info({ runId: input.runId, agent: deps.agentId, ...happened, latencyMs: env.now() - started, ...spendFields(result.spend) }, 'compaction');
      env.trace?.({
        at: env.now(),
        kind: 'compaction',
        ...happened,
        ...(report.repeated ? { repeated: true } : {}),
        ...(result.spend ? { model: result.spend.modelId, usage: result.spend.usage, costUsd: costOf(result.spend.modelId, result.spend.usage, deps.prices) } : {}),
      });
      return result;
    },
  };

  /** Asks the call's rate limit for a token: null when granted, the refusal otherwise (a store that cannot be reached refuses for a while). */
  async function takeToken(bucket: { def: ToolDefinition; key: string }, input: ToolCallInput): Promise<RateRefusal | null> {
    const policy = bucket.def.rateLimit!.policy;
    const fields = { runId: input.runId, agent: deps.agentId, step: input.step, attempt: input.attempt, tool: input.call.name, key: bucket.key };
    let retryAfterMs: number | null;
    try {
      const decision = await limiter().acquire(bucket.key, policy, input.idempotencyKey);
      retryAfterMs = decision.granted ? null : decision.retryAfterMs;
    } catch (error) {
      // The limit cannot be asked: wait and ask again (the run's deadline still runs), as durable runs wait for their store.
      if (!(error instanceof StoreError && error.kind === 'store-unavailable')) throw error;
      log.warn({ ...fields, err: error.message }, 'rate limit unavailable; waiting');
      retryAfterMs = RATE_STORE_RETRY_MS;
    }
    log.info({ ...fields, granted: retryAfterMs === null, ...(retryAfterMs === null ? {} : { retryAfterMs }) }, 'rate limit');
    env.trace?.({ at: env.now(), kind: 'rate', step: input.step, attempt: input.attempt, tool: input.call.name, key: bucket.key, granted: retryAfterMs === null, ...(retryAfterMs === null ? {} : { retryAfterMs }) });
    if (retryAfterMs === null) return null;
    return {
      ok: false,
      rateLimited: true,
      retryAfterMs,
      error: { name: 'RateLimited', message: `${bucket.key}: over its limit of ${policy.limit} per ${policy.perMs} ms; retry in ${retryAfterMs} ms` },
      timedOut: false,
    };
  }

  async function releaseSlot(key: string, holder: string): Promise<void> {
    try {
      await limiter().release(key, holder);
    } catch (error) {
      log.warn({ key, holder, err: (error as Error).message }, 'could not release a rate-limit slot; it frees at its TTL');
    }
  }

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

  /** Logs and traces a call whose result was a failure in disguise, with what it returned (redacted), and returns the failure. */
  function reportHidden(def: ToolDefinition, input: ToolCallInput, fields: object, failure: CallFailure, returned: Json, latencyMs: number): CallFailure {
    const shown = redact(returned, deps.secretKeys);
    log.warn({ ...fields, input: redact(input.input, deps.secretKeys), latencyMs, ok: false, hidden: true, err: failure.error, returned: shown }, 'tool call returned a failure');
    env.trace?.({ at: env.now(), kind: 'tool', step: input.step, attempt: input.attempt, tool: def.name, latencyMs, ok: false, hidden: true, error: failure.error.message, returned: shown });
    return failure;
  }

  async function runTool(input: ToolCallInput, signal: AbortSignal): Promise<ToolCallResult> {
    const def = deps.tools.get(input.call.name);
    const started = env.now();
    const fields = { runId: input.runId, agent: deps.agentId, step: input.step, attempt: input.attempt, tool: input.call.name };
    try {
      if (!def) throw new FatalToolError(`no tool named ${input.call.name}`);
      const parsed = def.input.parse(input.input);
      const deadline = started + def.timeoutMs;
      const value = await withTimeout(
        (s) =>
          def.run(parsed, {
            runId: input.runId,
            idempotencyKey: input.idempotencyKey,
            step: input.step,
            attempt: input.attempt,
            deadline,
            signal: s,
            budget: input.budget,
            ...(env.children ? { children: env.children } : {}),
          }),
        def.timeoutMs,
        signal,
        () => new ToolTimeoutError(def.name, def.timeoutMs),
      );
      const spent = value instanceof SpentResult ? value.spent : null;
      const returned = value instanceof SpentResult ? value.result : value;
      const result = toJson(returned, def.name);
      const latencyMs = env.now() - started;
      const problem = outputProblem(def, returned);
      if (problem !== null) return reportHidden(def, input, fields, hiddenFailure(def, problem), result, latencyMs);
      log.info({ ...fields, input: redact(input.input, deps.secretKeys), latencyMs, ok: true, ...(spent ? { subRuns: spent.runs, subCostUsd: spent.usage.costUsd } : {}) }, 'tool call');
      env.trace?.({ at: env.now(), kind: 'tool', step: input.step, attempt: input.attempt, tool: input.call.name, latencyMs, ok: true, ...(spent ? { spent } : {}) });
      return spent ? { ok: true, result, spent } : { ok: true, result };
    } catch (error) {
      if (error instanceof BudgetExceededError) {
        const err = toErrorInfo(error);
        log.warn({ ...fields, input: redact(input.input, deps.secretKeys), latencyMs: env.now() - started, ok: false, budget: error.breach }, 'tool call over budget');
        env.trace?.({ at: env.now(), kind: 'tool', step: input.step, attempt: input.attempt, tool: input.call.name, latencyMs: env.now() - started, ok: false, error: err.message, budget: error.breach });
        return { ok: false, error: err, retryable: false, timedOut: false, budget: error.breach };
      }
      const failure = { ok: false as const, error: toErrorInfo(error), timedOut: error instanceof ToolTimeoutError };
      const retryable = retryableFlag(error);
      const latencyMs = env.now() - started;
      log.warn({ ...fields, input: redact(input.input, deps.secretKeys), latencyMs, ok: false, err: failure.error }, 'tool call failed');
      env.trace?.({ at: env.now(), kind: 'tool', step: input.step, attempt: input.attempt, tool: input.call.name, latencyMs, ok: false, error: failure.error.message });
      return retryable === undefined ? failure : { ...failure, retryable };
    }
  }
}
