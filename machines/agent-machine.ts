import { assign, fromPromise, raise, setup, type DoneActorEvent, type ErrorActorEvent } from 'xstate';
import type { z } from 'zod';
import { actionLabel, callSignature, hashValue, type ActionRecord } from '../guards/action.js';
import { budgetBreach, type BudgetBreach } from '../guards/budget.js';
import { admitCall, CLOSED_CIRCUIT, recordFailure, recordSuccess, type CircuitPolicy } from '../guards/circuit.js';
import { compactionDue } from '../guards/compaction.js';
import { addSpend, costOf, type PriceTable } from '../guards/cost.js';
import { detectLoop, type LoopPolicy } from '../guards/loop.js';
import { addChildSpend, treeUsage, type SpawnBudget, type SubtreeSpend } from '../guards/nested-budget.js';
import { progressCheckDue, type ProgressJudgeInput, type ProgressPolicy } from '../guards/progress.js';
import { nextRandom } from '../guards/random.js';
import { backoffDelay, canRetry, classifyFailure, type RetryPolicy, type SideEffect } from '../guards/retry.js';
import { addTurn, ZERO_USAGE } from '../guards/usage.js';
import { checkToolCall } from '../guards/validate.js';
import type { AgentContext, AgentEvent, AgentInput, CurrentCall, Failure } from './agent-context.js';
import type { CompactionResult, JudgeResult, Message, ModelResponse, ModelSpend, ToolCall } from './model-types.js';
import { toErrorInfo, type ErrorInfo, type LengthRecovery, type OutcomeEvidence, type TerminalOutcome } from './outcome.js';

/** What the machine needs to know about one tool; the implementation itself is provided by the runtime. */
export interface ToolPolicy {
  readonly input: z.ZodType;
  readonly sideEffect: SideEffect;
  readonly retry: RetryPolicy;
  readonly circuit: CircuitPolicy;
  readonly reconcilable: boolean;
  /** Pure predicate on the validated input; true sends the call to awaitingApproval. */
  readonly requiresApproval: (input: unknown) => boolean;
  /** How long an operator has to decide on this tool's calls; the agent's approval timeout when absent. */
  readonly approvalTimeoutMs?: number;
}

/** The policies one agent's machine closes over. Pure data and pure functions: machines do no I/O. */
export interface AgentSpec {
  readonly tools: ReadonlyMap<string, ToolPolicy>;
  readonly loop: LoopPolicy;
  readonly progress: ProgressPolicy | null;
  readonly modelRetry: RetryPolicy;
  readonly modelCircuit: CircuitPolicy;
  readonly approval: { readonly timeoutMs: number; readonly onTimeout: 'escalate' | 'replan' };
  /** An in-doubt call that cannot be reconciled: end ACTION_IN_DOUBT, or ask a human (APPROVE runs it again, REJECT tells the model). */
  readonly inDoubt: 'fail' | 'ask';
  readonly prices: PriceTable;
  readonly maxArgumentBytes: number;
  /**
   * Context compaction: null turns it off; otherwise the transcript is
   * compacted when the last call's input reached `thresholdTokens` (null when
   * the model's context window is unknown: then only to recover from output
   * cut off at its length limit).
   */
  readonly compaction: { readonly thresholdTokens: number | null } | null;
  /** Restate the goal to the model every N turns; null: never. */
  readonly goalReminderEveryTurns: number | null;
  /** The clock; injectable so that tests and restores control time. */
  readonly now: () => number;
}

/** A failed external call as data: thrown values never cross the actor boundary. */
export interface CallFailure {
  readonly ok: false;
  readonly error: ErrorInfo;
  /** The callee's own classification: true = did nothing, safe to retry; false = never retry; absent = unknown. */
  readonly retryable?: boolean;
  readonly timedOut: boolean;
}
export type ModelCallResult = { readonly ok: true; readonly response: ModelResponse } | CallFailure;
/**
 * A call its shared rate limit refused: nothing was sent; the run waits
 * (rateWaiting) and tries again after `retryAfterMs`.
 */
export interface RateRefusal {
  readonly ok: false;
  readonly rateLimited: true;
  readonly retryAfterMs: number;
  readonly error: ErrorInfo;
  readonly timedOut: false;
}
/**
 * A tool's result; `spent` is what the sub-runs it started spent (their own
 * usage and their subtrees'), added to the run's subtree so that its budgets
 * see the whole tree's spend. A failure with `budget` is a call a budget had
 * no room for (BudgetExceededError): the run ends BUDGET_EXCEEDED.
 */
export type ToolCallResult =
  | { readonly ok: true; readonly result: z.core.util.JSONType; readonly spent?: SubtreeSpend }
  | (CallFailure & { readonly budget?: BudgetBreach; readonly rateLimited?: undefined })
  | RateRefusal;
export type ReconcileResult = { readonly applied: true; readonly result: z.core.util.JSONType } | { readonly applied: false };

export interface ModelCallInput {
  readonly runId: string;
  readonly step: number;
  readonly attempt: number;
  readonly idempotencyKey: string;
  /** The checkpoint of this attempt (see journalKeyOf). */
  readonly journalKey: string;
  /** Messages produced since the last successful model call, appended to the transcript exactly once per step. */
  readonly inbox: readonly Message[];
  /** The previous response was cut off at its output limit: ask with the raised limit. */
  readonly raiseOutputLimit: boolean;
}
export interface CompactInput {
  readonly runId: string;
  /** The compaction's own step: its transcript marker and journal entry are keyed by it, so a re-run after a crash applies it once. */
  readonly step: number;
  readonly idempotencyKey: string;
  readonly goal: string;
  readonly reason: 'threshold' | 'length';
  /** Input tokens of the last call, for the trace. */
  readonly contextTokens: number | null;
  /** Assistant turns still in the inbox (not yet in the transcript): they are kept, and count towards the turns kept. */
  readonly pendingTurns: number;
}
/** What a progress judge is asked: the guard's input, plus what a model-backed judge needs (the run, the pending messages, its spend so far). */
export interface JudgeInput extends ProgressJudgeInput {
  readonly runId: string;
  readonly step: number;
  /** The number of this check (1 = first), which keys its journal entry. */
  readonly check: number;
  /** Messages not yet in the transcript (the last turn's tool results). */
  readonly inbox: readonly Message[];
  /** Tokens model-backed judges have spent in this run so far. */
  readonly judgeTokens: number;
}
export interface ToolCallInput {
  readonly runId: string;
  readonly step: number;
  readonly attempt: number;
  readonly idempotencyKey: string;
  /**
   * The journal entry of this try (see journalKeyOf), suffixed for each try
   * after a rate-limit refusal (a refused try is journaled too, and nothing
   * was sent under it, so the next try has a checkpoint of its own).
   */
  readonly journalKey: string;
  readonly call: ToolCall;
  readonly input: z.core.util.JSONType;
  /** What the run can hand down to a sub-run it starts: its limits, its tree's spend, its time left. */
  readonly budget: SpawnBudget;
}
export interface ReconcileInput {
  readonly runId: string;
  readonly tool: string;
  readonly idempotencyKey: string;
  readonly input: z.core.util.JSONType;
}

/** Longest delay a JS timer can hold; later deadlines are re-checked when it fires. */
const MAX_TIMER_MS = 2_147_483_647;
const MODEL = 'model';

/**
 * The idempotency key of one logical call (run, step): the same for every attempt, every retry and every
 * owner of the run, so a provider that deduplicates by key turns a late call of a worker that lost the run
 * into a no-op. Each model call and each tool call has a step of its own. The attempt is a separate field.
 */
export function idempotencyKey(runId: string, step: number): string {
  return `${runId}:${step}`;
}

/**
 * The journal key of one try of a call: (run, step, attempt), and which try after rate-limit refusals. Each
 * try has its own checkpoint and result, so a retry after a failure is not mistaken for the failed try.
 */
export function journalKeyOf(runId: string, call: { readonly step: number; readonly attempt: number; readonly rateTries?: number | undefined }): string {
  const key = `${runId}:${call.step}:${call.attempt}`;
  return call.rateTries ? `${key}:rate${call.rateTries}` : key;
}

/**
 * The id of the approval the run waits on, the same after a restore: the run,
 * the call's step and attempt, and whether it asks to run the call or to run
 * an in-doubt call again. Operator decisions name it, so a late decision for
 * an earlier request never approves a later one.
 */
export function approvalItemId(context: Pick<AgentContext, 'runId' | 'current' | 'failure'>): string {
  const c = context.current;
  return `${context.runId}:${c?.step ?? 0}:${c?.attempt ?? 0}:${context.failure?.kind === 'in-doubt' ? 'retry' : 'call'}`;
}

function notProvided(name: string): never {
  throw new Error(`reins: actor "${name}" was not provided; build runs through defineAgent()`);
}

/** The output of an invoke's done event; named actions only ever see it through here. */
function doneOutput<T>(event: unknown): T {
  return (event as DoneActorEvent<T>).output;
}
function errorOf(event: unknown): unknown {
  return (event as ErrorActorEvent).error;
}

function toolMessage(callId: string, tool: string, content: string, isError: boolean): Message {
  return { role: 'tool', callId, tool, content, isError };
}

/** Every queued call must be answered in the transcript (providers reject dangling tool calls). */
function skipQueued(queue: readonly ToolCall[], why: string): Message[] {
  return queue.map((c) => toolMessage(c.id, c.name, `Not run: ${why}`, true));
}

/** The state path as the operator reads it, e.g. "acting" or "paused". */
export function stateName(value: unknown): string {
  let v = value;
  const parts: string[] = [];
  while (v && typeof v === 'object') {
    const regions = v as Record<string, unknown>;
    // In the parallel `running` state, the work region is where the run is; the clock region only keeps time.
    const key = 'work' in regions ? 'work' : Object.keys(regions)[0];
    if (key === undefined) break;
    parts.push(key);
    v = regions[key];
  }
  if (typeof v === 'string') parts.push(v);
  return parts.filter((p) => p !== 'running' && p !== 'work' && p !== 'active').join('.') || 'running';
}

/**
 * Builds the agent lifecycle machine for one agent's policies.
 *
 * The chart is the same for every agent; only the guards' policies and the
 * provided actors differ. Invoke results are stored in context first and
 * routed by a transient state, so that every branch is a guard on context:
 * deterministic, inspectable, and replayable after a restore.
 */
export function createAgentMachine(spec: AgentSpec) {
  const toolPolicy = (name: string): ToolPolicy | undefined => spec.tools.get(name);
  const circuitOf = (ctx: AgentContext, name: string) => ctx.circuits[name] ?? CLOSED_CIRCUIT;
  const circuitPolicyOf = (name: string) => (name === MODEL ? spec.modelCircuit : toolPolicy(name)?.circuit ?? spec.modelCircuit);
  const retryPolicyOf = (f: Failure, ctx: AgentContext) =>
    f.target === 'model' ? spec.modelRetry : toolPolicy(ctx.current?.call.name ?? '')?.retry ?? spec.modelRetry;
  const attemptsOf = (f: Failure, ctx: AgentContext) => (f.target === 'model' ? ctx.modelAttempt : ctx.current?.attempt ?? 1);
  const failedName = (f: Failure, ctx: AgentContext) => (f.target === 'model' ? MODEL : ctx.current?.call.name ?? 'unknown');

  /** Fills the fields every outcome carries. */
  const conclude = (ctx: AgentContext, evidence: OutcomeEvidence): TerminalOutcome =>
    ({
      ...evidence,
      runId: ctx.runId,
      agentId: ctx.agentId,
      turns: ctx.usage.turns,
      usage: ctx.usage,
      endedAt: spec.now(),
      ...(ctx.subtree.runs > 0 ? { subtree: ctx.subtree } : {}),
    }) as TerminalOutcome;

  /** How long operators have to decide on the current call: its tool's approval timeout, else the agent's. */
  const approvalTimeoutOf = (ctx: AgentContext) => toolPolicy(ctx.current?.call.name ?? '')?.approvalTimeoutMs ?? spec.approval.timeoutMs;

  /** The edited arguments of an APPROVE, checked like a model's call; null when the event carries none. */
  const checkEdit = (ctx: AgentContext, event: AgentEvent) =>
    event.type === 'APPROVE' && event.arguments !== undefined && ctx.current
      ? checkToolCall(spec.tools, ctx.current.call.name, JSON.stringify(event.arguments), spec.maxArgumentBytes)
      : null;
  const decisionOf = (ctx: AgentContext, status: 'approved' | 'rejected' | 'expired', by: string, feedback: string | null, edited: boolean) => ({
    item: approvalItemId(ctx),
    status,
    by,
    at: spec.now(),
    feedback,
    edited,
  });

  const loopVerdict = (ctx: AgentContext) => detectLoop(ctx.history, spec.loop);

  return setup({
    types: {
      context: {} as AgentContext,
      input: {} as AgentInput,
      events: {} as AgentEvent,
      output: {} as TerminalOutcome,
    },
    actors: {
      callModel: fromPromise<ModelCallResult, ModelCallInput>(async () => notProvided('callModel')),
      callTool: fromPromise<ToolCallResult, ToolCallInput>(async () => notProvided('callTool')),
      reconcileCall: fromPromise<ReconcileResult, ReconcileInput>(async () => notProvided('reconcileCall')),
      judgeProgress: fromPromise<JudgeResult, JudgeInput>(async () => notProvided('judgeProgress')),
      compactTranscript: fromPromise<CompactionResult, CompactInput>(async () => notProvided('compactTranscript')),
    },
    delays: {
      untilDeadline: ({ context }) => Math.min(MAX_TIMER_MS, Math.max(0, (context.deadlineAt ?? Infinity) - spec.now())),
      untilRetry: ({ context }) => Math.min(MAX_TIMER_MS, Math.max(0, (context.retryAt ?? 0) - spec.now())),
      untilApprovalDue: ({ context }) => Math.min(MAX_TIMER_MS, Math.max(0, (context.approvalDueAt ?? 0) - spec.now())),
      untilRateRetry: ({ context }) => Math.min(MAX_TIMER_MS, Math.max(0, (context.rateRetryAt ?? 0) - spec.now())),
    },
    guards: {
      hasDeadline: ({ context }) => context.deadlineAt !== null,
      // A paused run does not time out while an operator holds it; RESUME re-arms the clock.
      deadlineReachedWhileRunning: ({ context }) => context.deadlineAt !== null && spec.now() >= context.deadlineAt && context.paused === null,
      deadlineAhead: ({ context }) => context.deadlineAt !== null && spec.now() < context.deadlineAt,
      retryNotDue: ({ context }) => context.retryAt !== null && spec.now() < context.retryAt,
      approvalNotDue: ({ context }) => context.approvalDueAt !== null && spec.now() < context.approvalDueAt,
      rateRetryNotDue: ({ context }) => context.rateRetryAt !== null && spec.now() < context.rateRetryAt,
      askHumanWhenInDoubt: ({ context }) => context.failure?.kind === 'in-doubt' && spec.inDoubt === 'ask',
      pauseRequested: ({ context }) => context.pauseRequest !== null,
      // The run's own spend and its finished sub-runs': a tree shares its root's budgets.
      budgetSpent: ({ context }) => budgetBreach(treeUsage(context.usage, context.subtree), context.limits) !== null,
      progressCheckDue: ({ context }) =>
        spec.progress !== null && context.usage.turns > 0 && progressCheckDue(context.usage.turns, context.progress.lastCheckTurn, spec.progress),
      compactionDue: ({ context }) =>
        spec.compaction !== null && spec.compaction.thresholdTokens !== null && compactionDue(context.contextTokens, spec.compaction.thresholdTokens),
      goalReminderDue: ({ context }) =>
        spec.goalReminderEveryTurns !== null && context.usage.turns > 0 && context.usage.turns - context.lastReminderTurn >= spec.goalReminderEveryTurns,
      modelFailed: ({ context }) => context.failure !== null,
      truncated: ({ context }) => context.response?.type === 'truncated',
      // Recovery from output cut off at its limit, one step per truncation in a row: raise the limit, then compact, then give up.
      mayRaiseOutputLimit: ({ context }) => context.truncations === 1,
      mayCompactForLength: ({ context }) => context.truncations === 2 && spec.compaction !== null,
      lengthRecoveryFutile: ({ context }) => context.compaction.reason === 'length' && context.compaction.compacted === false,
      refused: ({ context }) => context.response?.type === 'refused',
      answered: ({ context }) => context.response?.type === 'answer',
      gaveUp: ({ context }) => context.response?.type === 'give_up',
      escalating: ({ context }) => context.response?.type === 'escalate',
      hasToolCalls: ({ context }) => context.response?.type === 'tool_calls' && context.response.calls.length > 0,
      queueEmpty: ({ context }) => context.queue.length === 0,
      callInvalid: ({ context }) => context.current?.problem != null,
      toolCircuitOpen: ({ context }) =>
        context.current !== null &&
        !admitCall(circuitOf(context, context.current.call.name), spec.now(), circuitPolicyOf(context.current.call.name)).allowed,
      needsApproval: ({ context }) =>
        context.current !== null &&
        context.current.approvedBy === null &&
        (toolPolicy(context.current.call.name)?.requiresApproval(context.current.input) ?? false),
      // A decision is for the pending item before its deadline: one naming an earlier request (a late command) is
      // ignored, and so is one after the deadline, which the deadline timer is about to handle (nothing stale is approved).
      decisionNotApplicable: ({ context, event }) =>
        (event.type === 'APPROVE' || event.type === 'REJECT') &&
        ((event.item !== undefined && event.item !== approvalItemId(context)) || (context.approvalDueAt !== null && spec.now() > context.approvalDueAt)),
      editedArgumentsInvalid: ({ context, event }) => checkEdit(context, event)?.ok === false,
      rateRefused: ({ context }) => context.rateRetryAt !== null,
      toolFailed: ({ context }) => context.failure !== null,
      failureOverBudget: ({ context }) => context.failure?.kind === 'budget',
      failureInDoubtReconcilable: ({ context }) =>
        context.failure?.kind === 'in-doubt' && (toolPolicy(context.current?.call.name ?? '')?.reconcilable ?? false),
      failureInDoubt: ({ context }) => context.failure?.kind === 'in-doubt',
      failureFatal: ({ context }) => context.failure?.kind === 'fatal',
      circuitOpened: ({ context }) =>
        context.failure !== null && circuitOf(context, failedName(context.failure, context)).status === 'open',
      retriesSpent: ({ context }) =>
        context.failure !== null && !canRetry(attemptsOf(context.failure, context), retryPolicyOf(context.failure, context)),
      retryingModel: ({ context }) => context.failure?.target === 'model',
      loopConfirmed: ({ context }) => {
        const v = loopVerdict(context);
        return v.looping && (context.loopWarned || !spec.loop.warnFirst);
      },
      loopSuspected: ({ context }) => loopVerdict(context).looping,
      progressVerdictFinal: ({ context }) => context.outcome?.reason === 'NO_PROGRESS',
      replanOnApprovalTimeout: () => spec.approval.onTimeout === 'replan',
    },
    actions: {
      enterPhase: assign({ phase: (_, params: { phase: string }) => params.phase }),
      rearmTimers: raise({ type: 'reins.rearm' }),
      cancelPauseRequest: assign({ pauseRequest: null }),
      requestPause: assign({
        pauseRequest: ({ event }) => (event.type === 'PAUSE' ? { by: event.by, why: event.why } : null),
      }),
      pauseNow: assign({
        paused: ({ event }) => (event.type === 'PAUSE' ? { by: event.by, why: event.why, at: spec.now() } : null),
        pauseRequest: null,
      }),
      enterRequestedPause: assign({
        paused: ({ context }) => (context.pauseRequest ? { ...context.pauseRequest, at: spec.now() } : null),
        pauseRequest: null,
      }),
      clearPause: assign({ paused: null }),
      recordKill: assign({
        outcome: ({ context, event }) =>
          conclude(context, {
            reason: 'USER_KILLED',
            by: event.type === 'KILL' ? event.by : 'unknown',
            why: event.type === 'KILL' ? event.why : '',
            state: context.phase,
            tool: activeTool(context),
          }),
      }),
      recordTimeout: assign({
        outcome: ({ context }) =>
          conclude(context, {
            reason: 'TIMEOUT',
            deadlineMs: (context.deadlineAt ?? context.startedAt) - context.startedAt,
            elapsedMs: spec.now() - context.startedAt,
            state: context.phase,
            tool: activeTool(context),
          }),
      }),
      recordBudgetBreach: assign({
        outcome: ({ context }) => {
          const breach = budgetBreach(treeUsage(context.usage, context.subtree), context.limits)!;
          return conclude(context, { reason: 'BUDGET_EXCEEDED', ...breach });
        },
      }),
      recordCallOverBudget: assign({
        outcome: ({ context }) => {
          const breach = context.failure?.budget ?? { budget: 'fanOut' as const, limit: 0, used: 0 };
          return conclude(context, { reason: 'BUDGET_EXCEEDED', ...breach });
        },
      }),
      beginTurn: assign({
        step: ({ context }) => context.step + 1,
        modelAttempt: 1,
        failure: null,
        circuits: ({ context }) => ({
          ...context.circuits,
          [MODEL]: admitCall(circuitOf(context, MODEL), spec.now(), spec.modelCircuit).state,
        }),
      }),
      beginModelRetry: assign({
        modelAttempt: ({ context }) => context.modelAttempt + 1,
        failure: null,
        retryAt: null,
        circuits: ({ context }) => ({
          ...context.circuits,
          [MODEL]: admitCall(circuitOf(context, MODEL), spec.now(), spec.modelCircuit).state,
        }),
      }),
      storeModelResult: assign(({ context, event }) => {
        const result = doneOutput<ModelCallResult>(event);
        if (!result.ok) {
          return {
            failure: { target: 'model' as const, error: result.error, retryable: result.retryable, timedOut: result.timedOut, kind: classifyFailure(result, 'none') },
            circuits: { ...context.circuits, [MODEL]: recordFailure(circuitOf(context, MODEL), spec.now(), spec.modelCircuit) },
          };
        }
        const { response } = result;
        return {
          response,
          inbox: [],
          failure: null,
          truncations: response.type === 'truncated' ? context.truncations + 1 : 0,
          contextTokens: response.usage.inputTokens,
          usage: addTurn(context.usage, response.usage, costOf(response.modelId, response.usage, spec.prices)),
          circuits: { ...context.circuits, [MODEL]: recordSuccess(circuitOf(context, MODEL)) },
        };
      }),
      queueToolCalls: assign(({ context }) => {
        const r = context.response;
        if (r?.type !== 'tool_calls') return {};
        const assistant: Message = {
          role: 'assistant',
          content: r.text,
          toolCalls: r.calls.map(boundedCall(spec.maxArgumentBytes)),
          finishReason: r.finishReason,
          rawFinishReason: r.rawFinishReason,
        };
        return { queue: r.calls, inbox: [...context.inbox, assistant], response: null };
      }),
      nudgeEmptyTurn: assign({
        inbox: ({ context }) => [
          ...context.inbox,
          { role: 'user' as const, content: 'Your last reply had neither a tool call nor an answer. Call a tool, answer, give up or escalate.' },
        ],
        failedTurns: ({ context }) => context.failedTurns + 1,
        response: null,
      }),
      takeNextCall: assign(({ context }) => {
        const [call, ...rest] = context.queue;
        if (!call) return {};
        const checked = checkToolCall(spec.tools, call.name, call.arguments, spec.maxArgumentBytes);
        const step = context.step + 1;
        return {
          queue: rest,
          step,
          failure: null,
          current: checked.ok
            ? { call, input: checked.value as z.core.util.JSONType, problem: null, hint: null, attempt: 1, step, approvedBy: null }
            : { call, input: null, problem: checked.problem, hint: checked.hint, attempt: 1, step, approvedBy: null },
        };
      }),
      recordInvalidCall: assign(({ context }) => {
        const c = context.current;
        if (!c) return {};
        const hint = c.hint ?? 'invalid call';
        const action: ActionRecord = {
          step: context.usage.turns,
          tool: c.call.name,
          argsHash: hashValue(c.call.arguments),
          resultHash: hashValue(hint),
          ok: false,
          label: actionLabel(c.call.name, c.call.arguments),
        };
        return {
          inbox: [...context.inbox, toolMessage(c.call.id, c.call.name, hint, true)],
          history: appendBounded(context.history, action, spec.loop.window),
          failedTurns: context.failedTurns + 1,
          current: null,
        };
      }),
      recordCircuitOpen: assign({
        outcome: ({ context }) => {
          const name = context.failure ? failedName(context.failure, context) : context.current?.call.name ?? MODEL;
          return conclude(context, {
            reason: 'TOOL_FAILURE',
            tool: name,
            errorClass: 'CircuitOpenError',
            message: context.failure
              ? `circuit opened after ${circuitOf(context, name).consecutiveFailures} consecutive failures; last: ${context.failure.error.message}`
              : `circuit for ${name} is open: it failed ${circuitOf(context, name).consecutiveFailures} times in a row`,
            circuitOpen: true,
          });
        },
      }),
      admitToolCall: assign({
        circuits: ({ context }) => {
          const name = context.current?.call.name;
          if (!name) return context.circuits;
          return { ...context.circuits, [name]: admitCall(circuitOf(context, name), spec.now(), circuitPolicyOf(name)).state };
        },
      }),
      requestApproval: assign(({ context }) => {
        const now = spec.now();
        return { approvalRequestedAt: now, approvalDueAt: now + approvalTimeoutOf(context) };
      }),
      recordApproval: assign(({ context, event }) => {
        const c = context.current;
        if (!c || event.type !== 'APPROVE') return {};
        const edit = checkEdit(context, event);
        const edited = edit?.ok === true ? (edit.value as z.core.util.JSONType) : null;
        return {
          current: {
            ...c,
            approvedBy: event.by,
            // Approving an in-doubt call means "run it again": a new attempt under the same idempotency key, so a
            // provider that deduplicates still applies it once. An edit of a call never attempted keeps its attempt.
            attempt: c.attempt + (context.failure?.kind === 'in-doubt' ? 1 : 0),
            ...(edited !== null ? { input: edited, call: { ...c.call, arguments: JSON.stringify(edited) }, editedBy: event.by } : {}),
          },
          lastApproval: decisionOf(context, 'approved', event.by, null, edited !== null),
          failure: null,
          approvalDueAt: null,
          approvalRequestedAt: null,
        };
      }),
      recordRejection: assign(({ context, event }) => {
        const c = context.current;
        if (!c || event.type !== 'REJECT') return {};
        return {
          inbox: [
            ...context.inbox,
            toolMessage(c.call.id, c.call.name, `Rejected by ${event.by}: ${event.feedback}`, true),
            ...skipQueued(context.queue, `an earlier call (${c.call.name}) was rejected`),
          ],
          lastApproval: decisionOf(context, 'rejected', event.by, event.feedback, false),
          queue: [],
          current: null,
          approvalDueAt: null,
          approvalRequestedAt: null,
        };
      }),
      // An edit that does not validate is not run: the model is told, with the hint, as for a rejection.
      recordInvalidEdit: assign(({ context, event }) => {
        const c = context.current;
        const edit = checkEdit(context, event);
        if (!c || event.type !== 'APPROVE' || edit === null || edit.ok) return {};
        const feedback = `the arguments ${event.by} edited are invalid: ${edit.hint}`;
        return {
          inbox: [
            ...context.inbox,
            toolMessage(c.call.id, c.call.name, `Not run: ${feedback}`, true),
            ...skipQueued(context.queue, `an earlier call (${c.call.name}) was not run`),
          ],
          lastApproval: decisionOf(context, 'rejected', event.by, feedback, true),
          queue: [],
          current: null,
          approvalDueAt: null,
          approvalRequestedAt: null,
        };
      }),
      expireApproval: assign(({ context }) => {
        const c = context.current;
        if (!c) return {};
        return {
          inbox: [
            ...context.inbox,
            toolMessage(c.call.id, c.call.name, 'Not run: the approval request expired before anyone approved it.', true),
            ...skipQueued(context.queue, `approval for ${c.call.name} expired`),
          ],
          lastApproval: decisionOf(context, 'expired', 'reins', null, false),
          queue: [],
          current: null,
          approvalDueAt: null,
          approvalRequestedAt: null,
        };
      }),
      beginRateRetry: assign({
        current: ({ context }) => (context.current ? { ...context.current, rateTries: (context.current.rateTries ?? 0) + 1 } : null),
        rateRetryAt: null,
      }),
      recordApprovalTimeout: assign({
        lastApproval: ({ context }) => decisionOf(context, 'expired', 'reins', null, false),
        outcome: ({ context }) =>
          conclude(context, {
            reason: 'ESCALATED',
            by: 'approval-timeout',
            why: `approval for ${context.current?.call.name ?? 'a call'} was not given within ${approvalTimeoutOf(context)} ms`,
            pending: context.current
              ? { callId: context.current.call.id, tool: context.current.call.name, arguments: context.current.call.arguments }
              : null,
          }),
      }),
      storeToolResult: assign(({ context, event }) => {
        const c = context.current;
        const result = doneOutput<ToolCallResult>(event);
        if (!c) return {};
        // Refused by its rate limit: nothing was sent, nothing failed; the run waits and tries again.
        if (!result.ok && result.rateLimited) return { rateRetryAt: spec.now() + Math.max(0, result.retryAfterMs) };
        if (!result.ok) {
          const sideEffect = toolPolicy(c.call.name)?.sideEffect ?? 'non-idempotent';
          return {
            failure: {
              target: 'tool' as const,
              error: result.error,
              retryable: result.retryable,
              timedOut: result.timedOut,
              ...(result.budget ? { kind: 'budget' as const, budget: result.budget } : { kind: classifyFailure(result, sideEffect) }),
            },
            circuits: { ...context.circuits, [c.call.name]: recordFailure(circuitOf(context, c.call.name), spec.now(), circuitPolicyOf(c.call.name)) },
          };
        }
        return {
          ...acceptResult(context, result.result, spec.loop.window),
          ...(result.spent ? { subtree: addChildSpend(context.subtree, result.spent) } : {}),
          circuits: { ...context.circuits, [c.call.name]: recordSuccess(circuitOf(context, c.call.name)) },
        };
      }),
      storeReconciled: assign(({ context, event }) => {
        const r = doneOutput<ReconcileResult>(event);
        const name = context.current?.call.name ?? '';
        if (r.applied) return { ...acceptResult(context, r.result, spec.loop.window), circuits: { ...context.circuits, [name]: recordSuccess(circuitOf(context, name)) } };
        // The callee confirmed the attempt never took effect: retrying is safe again.
        return { failure: context.failure ? { ...context.failure, kind: 'retryable' as const } : null };
      }),
      scheduleRetry: assign(({ context }) => {
        const f = context.failure!;
        const { value, state } = nextRandom(context.rng);
        return { rng: state, retryAt: spec.now() + backoffDelay(attemptsOf(f, context), retryPolicyOf(f, context), value) };
      }),
      beginToolRetry: assign({
        current: ({ context }) => (context.current ? { ...context.current, attempt: context.current.attempt + 1 } : null),
        failure: null,
        retryAt: null,
      }),
      recordRetryLimit: assign({
        outcome: ({ context }) => {
          const f = context.failure!;
          return conclude(context, { reason: 'RETRY_LIMIT_REACHED', tool: failedName(f, context), attempts: attemptsOf(f, context), lastError: f.error });
        },
      }),
      recordFatalFailure: assign({
        outcome: ({ context }) => {
          const f = context.failure!;
          return conclude(context, { reason: 'TOOL_FAILURE', tool: failedName(f, context), errorClass: f.error.name, message: f.error.message, circuitOpen: false });
        },
      }),
      recordInDoubt: assign({
        outcome: ({ context, event }) => {
          const c = context.current!;
          const reconcileError = event.type.startsWith('xstate.error.actor') ? toErrorInfo(errorOf(event)) : null;
          return conclude(context, {
            reason: 'ACTION_IN_DOUBT',
            tool: c.call.name,
            idempotencyKey: idempotencyKey(context.runId, c.step),
            error: reconcileError ?? context.failure?.error ?? { name: 'Unknown', message: 'outcome unknown' },
          });
        },
      }),
      warnLoop: assign(({ context }) => {
        const v = loopVerdict(context);
        if (!v.looping) return {};
        const content =
          `Supervisor warning: you are repeating yourself (${v.pattern}, ${v.repeats}x: ${loopLabels(context, v.actions).join(' → ')}) and the results are not changing. ` +
          'Change approach, answer with what you have, or give up. Repeating again ends the run.';
        return { loopWarned: true, inbox: [...context.inbox, { role: 'user' as const, content }] };
      }),
      clearLoopWarning: assign({ loopWarned: false }),
      recordLoop: assign({
        outcome: ({ context }) => {
          const v = loopVerdict(context);
          if (!v.looping) return context.outcome;
          return conclude(context, {
            reason: 'LOOP_DETECTED',
            pattern: v.pattern,
            period: v.period,
            repeats: v.repeats,
            window: v.window,
            actions: loopLabels(context, v.actions),
            warned: context.loopWarned,
          });
        },
      }),
      storeVerdict: assign(({ context, event }) => {
        const verdict = doneOutput<JudgeResult>(event);
        const checks = context.progress.checks + 1;
        const failedChecks = verdict.progressing ? 0 : context.progress.failedChecks + 1;
        const spend = verdict.spend ?? null;
        const judgeTokens = context.progress.judgeTokens + (spend ? spend.usage.inputTokens + spend.usage.outputTokens : 0);
        const progress = { lastCheckTurn: context.usage.turns, checks, failedChecks, judgeTokens };
        // A model judge's tokens are the run's spend: they count against its token and cost budgets (not as turns).
        const usage = withSpend(context.usage, spend, spec.prices);
        if (verdict.progressing) return { progress, usage };
        if (spec.progress && failedChecks >= spec.progress.maxFailedChecks) {
          return {
            progress,
            usage,
            outcome: conclude({ ...context, usage }, { reason: 'NO_PROGRESS', verdict: { progressing: false, why: verdict.why, ...(verdict.judge ? { judge: verdict.judge } : {}) }, failedChecks, checks }),
          };
        }
        const content = `Supervisor progress check: ${verdict.why}. Change approach or finish with what you have.`;
        return { progress, usage, inbox: [...context.inbox, { role: 'user' as const, content }] };
      }),
      beginCompaction: assign({
        step: ({ context }) => context.step + 1,
        compaction: ({ context }, params: { reason: 'threshold' | 'length' }) => ({ ...context.compaction, reason: params.reason, compacted: null }),
      }),
      storeCompaction: assign(({ context, event }) => {
        const result = doneOutput<CompactionResult>(event);
        return {
          usage: withSpend(context.usage, result.spend, spec.prices),
          // The next call measures the compacted context; until then a compaction is not due again.
          contextTokens: null,
          compaction: { count: context.compaction.count + (result.compacted ? 1 : 0), reason: context.compaction.reason, compacted: result.compacted },
        };
      }),
      raiseOutputLimit: assign({ response: null }),
      remindGoal: assign({
        inbox: ({ context }) => [...context.inbox, { role: 'user' as const, content: `Reminder of your goal: ${context.goal}` }],
        lastReminderTurn: ({ context }) => context.usage.turns,
      }),
      recordTruncated: assign({
        outcome: ({ context }) => {
          const r = context.response;
          const tried: LengthRecovery[] = [];
          if (context.truncations >= 2) tried.push('raised-output-limit');
          if (context.compaction.reason === 'length' && context.compaction.compacted === true) tried.push('compacted-context');
          const where =
            r?.type === 'truncated' && r.calls.length > 0
              ? `in the middle of a call to ${[...new Set(r.calls.map((c) => c.name))].join(', ')}`
              : 'before its answer was complete';
          const limit = r?.type === 'truncated' && r.maxOutputTokens !== null ? ` of ${r.maxOutputTokens} tokens` : '';
          const after = tried.length > 0 ? ` after ${tried.join(' and ')}` : '';
          const futile = context.compaction.reason === 'length' && context.compaction.compacted === false ? ' (the context had nothing left to compact)' : '';
          return conclude(context, {
            reason: 'MODEL_REFUSED',
            finishReason: 'length',
            rawFinishReason: r?.rawFinishReason ?? null,
            message: `the model's output was cut off at its output limit${limit} ${where}${after}${futile}`,
            tried,
          });
        },
      }),
      recordCompleted: assign({
        outcome: ({ context }) =>
          conclude(context, { reason: 'COMPLETED', result: context.response?.type === 'answer' ? context.response.result : null }),
      }),
      recordInfeasible: assign({
        outcome: ({ context }) =>
          conclude(context, { reason: 'INFEASIBLE', explanation: context.response?.type === 'give_up' ? context.response.explanation : '' }),
      }),
      recordEscalated: assign({
        outcome: ({ context }) =>
          conclude(context, {
            reason: 'ESCALATED',
            by: 'agent',
            why: context.response?.type === 'escalate' ? context.response.why : '',
            pending: null,
          }),
      }),
      recordRefused: assign({
        outcome: ({ context }) => {
          const r = context.response!;
          return conclude(context, {
            reason: 'MODEL_REFUSED',
            finishReason: r.finishReason,
            rawFinishReason: r.rawFinishReason,
            message: r.type === 'refused' ? r.message : '',
            tried: [],
          });
        },
      }),
      recordInternalError: assign({
        outcome: ({ context, event }) => conclude(context, { reason: 'INTERNAL_ERROR', where: context.phase, error: toErrorInfo(errorOf(event)) }),
      }),
    },
  }).createMachine({
    id: 'agent',
    context: ({ input }) => ({
      runId: input.runId,
      agentId: input.agentId,
      goal: input.goal,
      limits: input.limits,
      startedAt: input.startedAt,
      deadlineAt: input.limits.maxWallClockMs === undefined ? null : input.startedAt + input.limits.maxWallClockMs,
      phase: 'planning',
      usage: ZERO_USAGE,
      subtree: { runs: 0, usage: ZERO_USAGE },
      rng: input.seed >>> 0,
      step: 0,
      modelAttempt: 1,
      failedTurns: 0,
      truncations: 0,
      contextTokens: null,
      compaction: { count: 0, reason: null, compacted: null },
      lastReminderTurn: 0,
      inbox: [{ role: 'user', content: input.goal }],
      response: null,
      queue: [],
      current: null,
      failure: null,
      retryAt: null,
      approvalDueAt: null,
      approvalRequestedAt: null,
      lastApproval: null,
      rateRetryAt: null,
      history: [],
      circuits: {},
      loopWarned: false,
      progress: { lastCheckTurn: 0, checks: 0, failedChecks: 0, judgeTokens: 0 },
      pauseRequest: null,
      paused: null,
      outcome: null,
    }),
    output: ({ context }) => context.outcome!,
    initial: 'running',
    states: {
      running: {
        // Work and the wall clock are separate regions so that the clock can be re-armed after a restore without re-entering work.
        type: 'parallel',
        on: {
          KILL: { target: 'userKilled', actions: 'recordKill' },
        },
        states: {
          work: {
            initial: 'active',
            states: {
              active: {
                initial: 'turnGate',
                on: {
                  PAUSE: { actions: 'requestPause' },
                  RESUME: { actions: 'cancelPauseRequest' },
                },
                states: {
                  turnGate: {
                    always: [
                      { guard: 'pauseRequested', target: '#agent.running.work.paused', actions: 'enterRequestedPause' },
                      { guard: 'budgetSpent', target: '#agent.budgetExceeded', actions: 'recordBudgetBreach' },
                      { guard: 'progressCheckDue', target: 'judging' },
                      { guard: 'compactionDue', target: 'compacting', actions: { type: 'beginCompaction', params: { reason: 'threshold' } } },
                      { guard: 'goalReminderDue', target: 'planning', actions: ['remindGoal', 'beginTurn'] },
                      { target: 'planning', actions: 'beginTurn' },
                    ],
                  },
                  compacting: {
                    entry: { type: 'enterPhase', params: { phase: 'compacting' } },
                    invoke: {
                      id: 'compact',
                      src: 'compactTranscript',
                      input: ({ context }) => ({
                        runId: context.runId,
                        step: context.step,
                        idempotencyKey: `${context.runId}:${context.step}:compact`,
                        goal: context.goal,
                        reason: context.compaction.reason ?? 'threshold',
                        contextTokens: context.contextTokens,
                        pendingTurns: context.inbox.filter((m) => m.role === 'assistant').length,
                      }),
                      onDone: { target: 'compacted', actions: 'storeCompaction' },
                      onError: { target: '#agent.internalError', actions: 'recordInternalError' },
                    },
                  },
                  compacted: {
                    always: [
                      { guard: 'lengthRecoveryFutile', target: '#agent.modelRefused', actions: 'recordTruncated' },
                      { target: 'turnGate' },
                    ],
                  },
                  judging: {
                    entry: { type: 'enterPhase', params: { phase: 'judging' } },
                    invoke: {
                      id: 'judge',
                      src: 'judgeProgress',
                      input: ({ context }) => ({
                        goal: context.goal,
                        recentSteps: context.history.filter((a) => a.step > context.progress.lastCheckTurn),
                        earlierSteps: context.history.filter((a) => a.step <= context.progress.lastCheckTurn),
                        runId: context.runId,
                        step: context.step,
                        check: context.progress.checks + 1,
                        inbox: context.inbox,
                        judgeTokens: context.progress.judgeTokens,
                      }),
                      onDone: { target: 'judged', actions: 'storeVerdict' },
                      onError: { target: '#agent.internalError', actions: 'recordInternalError' },
                    },
                  },
                  judged: {
                    always: [{ guard: 'progressVerdictFinal', target: '#agent.noProgress' }, { target: 'turnGate' }],
                  },
                  planning: {
                    entry: { type: 'enterPhase', params: { phase: 'planning' } },
                    invoke: {
                      id: 'model',
                      src: 'callModel',
                      input: ({ context }) => ({
                        runId: context.runId,
                        step: context.step,
                        attempt: context.modelAttempt,
                        idempotencyKey: idempotencyKey(context.runId, context.step),
                        journalKey: journalKeyOf(context.runId, { step: context.step, attempt: context.modelAttempt }),
                        inbox: context.inbox,
                        raiseOutputLimit: context.truncations > 0,
                      }),
                      onDone: { target: 'deciding', actions: 'storeModelResult' },
                      onError: { target: '#agent.internalError', actions: 'recordInternalError' },
                    },
                  },
                  deciding: {
                    always: [
                      { guard: 'modelFailed', target: 'failed' },
                      { guard: 'truncated', target: 'truncatedOutput' },
                      { guard: 'refused', target: '#agent.modelRefused', actions: 'recordRefused' },
                      { guard: 'answered', target: '#agent.completed', actions: 'recordCompleted' },
                      { guard: 'gaveUp', target: '#agent.infeasible', actions: 'recordInfeasible' },
                      { guard: 'escalating', target: '#agent.escalated', actions: 'recordEscalated' },
                      { guard: 'hasToolCalls', target: 'callGate', actions: 'queueToolCalls' },
                      { target: 'turnGate', actions: 'nudgeEmptyTurn' },
                    ],
                  },
                  truncatedOutput: {
                    always: [
                      { guard: 'mayRaiseOutputLimit', target: 'turnGate', actions: 'raiseOutputLimit' },
                      { guard: 'mayCompactForLength', target: 'compacting', actions: { type: 'beginCompaction', params: { reason: 'length' } } },
                      { target: '#agent.modelRefused', actions: 'recordTruncated' },
                    ],
                  },
                  callGate: {
                    always: [
                      { guard: 'queueEmpty', target: 'turnGate' },
                      { guard: 'pauseRequested', target: '#agent.running.work.paused', actions: 'enterRequestedPause' },
                      { target: 'checking', actions: 'takeNextCall' },
                    ],
                  },
                  checking: {
                    always: [
                      { guard: 'callInvalid', target: 'afterCall', actions: 'recordInvalidCall' },
                      { guard: 'toolCircuitOpen', target: '#agent.toolFailure', actions: 'recordCircuitOpen' },
                      { guard: 'needsApproval', target: 'awaitingApproval', actions: 'requestApproval' },
                      { target: 'acting', actions: 'admitToolCall' },
                    ],
                  },
                  // Refused by its shared rate limit (per resource, in the store): a durable wait that counts against the deadline.
                  rateWaiting: {
                    entry: { type: 'enterPhase', params: { phase: 'rateWaiting' } },
                    always: { guard: 'pauseRequested', target: '#agent.running.work.paused', actions: 'enterRequestedPause' },
                    after: {
                      untilRateRetry: [
                        { guard: 'rateRetryNotDue', target: 'rateWaiting', reenter: true },
                        { target: 'acting', actions: 'beginRateRetry' },
                      ],
                    },
                    on: {
                      PAUSE: { target: '#agent.running.work.paused', actions: 'pauseNow' },
                      'reins.rearm': { target: 'rateWaiting', reenter: true },
                    },
                  },
                  awaitingApproval: {
                    entry: { type: 'enterPhase', params: { phase: 'awaitingApproval' } },
                    always: { guard: 'pauseRequested', target: '#agent.running.work.paused', actions: 'enterRequestedPause' },
                    after: {
                      untilApprovalDue: [
                        { guard: 'approvalNotDue', target: 'awaitingApproval', reenter: true },
                        { guard: 'replanOnApprovalTimeout', target: 'turnGate', actions: 'expireApproval' },
                        { target: '#agent.escalated', actions: 'recordApprovalTimeout' },
                      ],
                    },
                    on: {
                      PAUSE: { target: '#agent.running.work.paused', actions: 'pauseNow' },
                      APPROVE: [
                        { guard: 'decisionNotApplicable' },
                        { guard: 'editedArgumentsInvalid', target: 'turnGate', actions: 'recordInvalidEdit' },
                        { target: 'checking', actions: 'recordApproval' },
                      ],
                      REJECT: [{ guard: 'decisionNotApplicable' }, { target: 'turnGate', actions: 'recordRejection' }],
                      'reins.rearm': { target: 'awaitingApproval', reenter: true },
                    },
                  },
                  acting: {
                    entry: { type: 'enterPhase', params: { phase: 'acting' } },
                    invoke: {
                      id: 'tool',
                      src: 'callTool',
                      input: ({ context }) => {
                        const c = context.current!;
                        return {
                          runId: context.runId,
                          step: c.step,
                          attempt: c.attempt,
                          idempotencyKey: idempotencyKey(context.runId, c.step),
                          journalKey: journalKeyOf(context.runId, c),
                          call: c.call,
                          input: c.input,
                          budget: {
                            limits: context.limits,
                            used: treeUsage(context.usage, context.subtree),
                            descendants: context.subtree.runs,
                            remainingMs: context.deadlineAt === null ? null : context.deadlineAt - spec.now(),
                          },
                        };
                      },
                      onDone: { target: 'settled', actions: 'storeToolResult' },
                      onError: { target: '#agent.internalError', actions: 'recordInternalError' },
                    },
                  },
                  settled: {
                    always: [{ guard: 'rateRefused', target: 'rateWaiting' }, { guard: 'toolFailed', target: 'failed' }, { target: 'afterCall' }],
                  },
                  failed: {
                    always: [
                      { guard: 'failureOverBudget', target: '#agent.budgetExceeded', actions: 'recordCallOverBudget' },
                      { guard: 'failureInDoubtReconcilable', target: 'reconciling' },
                      { guard: 'askHumanWhenInDoubt', target: 'awaitingApproval', actions: 'requestApproval' },
                      { guard: 'failureInDoubt', target: '#agent.actionInDoubt', actions: 'recordInDoubt' },
                      { guard: 'failureFatal', target: '#agent.toolFailure', actions: 'recordFatalFailure' },
                      { guard: 'circuitOpened', target: '#agent.toolFailure', actions: 'recordCircuitOpen' },
                      { guard: 'retriesSpent', target: '#agent.retryLimitReached', actions: 'recordRetryLimit' },
                      { target: 'backingOff', actions: 'scheduleRetry' },
                    ],
                  },
                  reconciling: {
                    entry: { type: 'enterPhase', params: { phase: 'reconciling' } },
                    invoke: {
                      id: 'reconcile',
                      src: 'reconcileCall',
                      input: ({ context }) => {
                        const c = context.current!;
                        return {
                          runId: context.runId,
                          tool: c.call.name,
                          idempotencyKey: idempotencyKey(context.runId, c.step),
                          input: c.input,
                        };
                      },
                      onDone: { target: 'reconciled', actions: 'storeReconciled' },
                      onError: { target: '#agent.actionInDoubt', actions: 'recordInDoubt' },
                    },
                  },
                  reconciled: {
                    always: [{ guard: 'toolFailed', target: 'failed' }, { target: 'afterCall' }],
                  },
                  backingOff: {
                    entry: { type: 'enterPhase', params: { phase: 'backingOff' } },
                    always: { guard: 'pauseRequested', target: '#agent.running.work.paused', actions: 'enterRequestedPause' },
                    after: {
                      untilRetry: [
                        { guard: 'retryNotDue', target: 'backingOff', reenter: true },
                        { guard: 'retryingModel', target: 'planning', actions: 'beginModelRetry' },
                        { target: 'acting', actions: 'beginToolRetry' },
                      ],
                    },
                    on: {
                      PAUSE: { target: '#agent.running.work.paused', actions: 'pauseNow' },
                      'reins.rearm': { target: 'backingOff', reenter: true },
                    },
                  },
                  afterCall: {
                    always: [
                      { guard: 'loopConfirmed', target: '#agent.loopDetected', actions: 'recordLoop' },
                      { guard: 'loopSuspected', target: 'callGate', actions: 'warnLoop' },
                      { target: 'callGate', actions: 'clearLoopWarning' },
                    ],
                  },
                  resume: { type: 'history', history: 'deep' },
                },
              },
              paused: {
                entry: { type: 'enterPhase', params: { phase: 'paused' } },
                on: {
                  // The clock did not fire while paused: re-arm it (a deadline passed meanwhile ends the run at once).
                  RESUME: { target: 'active.resume', actions: ['clearPause', 'rearmTimers'] },
                },
              },
            },
          },
          clock: {
            initial: 'start',
            states: {
              start: {
                always: [{ guard: 'hasDeadline', target: 'ticking' }, { target: 'unbounded' }],
              },
              ticking: {
                after: {
                  untilDeadline: [
                    { guard: 'deadlineReachedWhileRunning', target: '#agent.timedOut', actions: 'recordTimeout' },
                    // A timer that fired early (the JS timer cap, a clock step) is armed again for the rest.
                    { guard: 'deadlineAhead', target: 'ticking', reenter: true },
                  ],
                },
                on: {
                  'reins.rearm': { target: 'ticking', reenter: true },
                },
              },
              unbounded: {},
            },
          },
        },
      },
      completed: { type: 'final' },
      infeasible: { type: 'final' },
      escalated: { type: 'final' },
      budgetExceeded: { type: 'final' },
      timedOut: { type: 'final' },
      loopDetected: { type: 'final' },
      noProgress: { type: 'final' },
      retryLimitReached: { type: 'final' },
      toolFailure: { type: 'final' },
      modelRefused: { type: 'final' },
      actionInDoubt: { type: 'final' },
      userKilled: { type: 'final' },
      internalError: { type: 'final' },
    },
  });
}

/** The machine type every agent shares. */
export type AgentMachine = ReturnType<typeof createAgentMachine>;

/** A run's usage with a helper model's spend (summariser, judge) added; unchanged when there was none. */
function withSpend(usage: AgentContext['usage'], spend: ModelSpend | null, prices: PriceTable): AgentContext['usage'] {
  return spend ? addSpend(usage, spend.modelId, spend.usage, prices) : usage;
}

/** The readable labels of the calls a loop verdict names (by signature). */
function loopLabels(context: AgentContext, signatures: readonly string[]): string[] {
  return signatures.map((signature) => context.history.find((a) => callSignature(a) === signature)?.label ?? signature);
}

/** The tool a run was busy with in its current phase, if any. */
function activeTool(context: AgentContext): string | null {
  return ['acting', 'reconciling', 'backingOff', 'awaitingApproval', 'rateWaiting'].includes(context.phase) && context.failure?.target !== 'model'
    ? context.current?.call.name ?? null
    : null;
}

/** Keeps only the most recent `limit` actions: the loop and progress guards look no further back. */
function appendBounded(history: readonly ActionRecord[], action: ActionRecord, limit: number): ActionRecord[] {
  const next = [...history, action];
  return next.length > limit ? next.slice(next.length - limit) : next;
}

/** Records a successful call (or a reconciled one) for the model, the loop guard and the progress judge. */
function acceptResult(context: AgentContext, result: z.core.util.JSONType, window: number): Partial<AgentContext> {
  const c = context.current;
  if (!c) return {};
  const action: ActionRecord = {
    step: context.usage.turns,
    tool: c.call.name,
    argsHash: hashValue(c.input),
    resultHash: hashValue(result),
    ok: true,
    label: actionLabel(c.call.name, c.call.arguments),
  };
  // The model asked for other arguments than the ones that ran: it is told, or it would reason from its own.
  const content = c.editedBy
    ? JSON.stringify({ note: `${c.editedBy} edited the arguments before approving; this call ran with them`, arguments: c.input, result })
    : JSON.stringify(result);
  return {
    inbox: [...context.inbox, toolMessage(c.call.id, c.call.name, content, false)],
    history: appendBounded(context.history, action, window),
    failure: null,
    current: null,
  };
}

/** Keeps an oversized argument string out of the transcript; the hint already told the model. */
function boundedCall(maxBytes: number) {
  return (call: ToolCall): ToolCall =>
    call.arguments.length > maxBytes ? { ...call, arguments: JSON.stringify({ omitted: `${call.arguments.length} characters` }) } : call;
}
