/**
 * Model-based test harness for the agent lifecycle machine.
 *
 * The machine invokes four actors and arms three delays, so @xstate/graph's
 * createTestModel refuses it. Instead the graph is walked with explicit event
 * cases: the invoke results (`xstate.done.actor.<id>` / `xstate.error.actor.<id>`)
 * and the delayed events (`xstate.after.<delay>.<stateNodeId>`) are sent by the
 * test itself, while the provided actors never settle and a SimulatedClock that
 * never advances keeps every timer from firing on its own. Time is the fixed
 * clock `NOW`: guards read `spec.now()`, so every transition is a pure function
 * of (snapshot, event), which is what makes the graph replayable.
 */
import { createActor, fromPromise, SimulatedClock, transition, type AnyEventObject, type SnapshotFrom } from 'xstate';
import { z } from 'zod';
import { LoopPolicy } from '../../guards/loop.js';
import { ProgressPolicy } from '../../guards/progress.js';
import { RetryPolicy } from '../../guards/retry.js';
import { CircuitPolicy } from '../../guards/circuit.js';
import {
  createAgentMachine,
  stateName,
  type AgentSpec,
  type CompactInput,
  type JudgeInput,
  type ModelCallInput,
  type ModelCallResult,
  type ReconcileInput,
  type ReconcileResult,
  type ToolCallInput,
  type ToolCallResult,
  type ToolPolicy,
  type VerifyInput,
} from '../../machines/agent-machine.js';
import type { AgentInput } from '../../machines/agent-context.js';
import type { CompactionResult, JudgeResult, ModelResponse, VerifyResult } from '../../machines/model-types.js';

/** When every modelled run starts. */
export const STARTED_AT = 1_700_000_000_000;
/** Wall-clock budget of every modelled run. */
export const WALL_CLOCK_MS = 5_000;
/**
 * The fixed clock: exactly at the deadline, so `deadlinePassed` holds whenever
 * the test delivers the deadline timer (an early timer is a separate test).
 */
export const NOW = STARTED_AT + WALL_CLOCK_MS;
/**
 * Due times equal the fixed clock (approval timeout and backoff of 0): a timer
 * delivered before its due time re-arms instead of firing, and the walk's
 * clock never moves, so every delivered timer must already be due.
 */
export const APPROVAL_TIMEOUT_MS = 0;

/** The delayed-event types, as XState 5 names them: `xstate.after.<delay key>.<id of the state node that owns the after>`. */
export const AFTER = {
  deadline: 'xstate.after.untilDeadline.agent.running.clock.ticking',
  approvalDue: 'xstate.after.untilApprovalDue.agent.running.work.active.awaitingApproval',
  retry: 'xstate.after.untilRetry.agent.running.work.active.backingOff',
  rateRetry: 'xstate.after.untilRateRetry.agent.running.work.active.rateWaiting',
} as const;

/** Final state name -> the reason its output must carry. */
export const FINAL_REASONS = {
  completed: 'COMPLETED',
  infeasible: 'INFEASIBLE',
  escalated: 'ESCALATED',
  budgetExceeded: 'BUDGET_EXCEEDED',
  timedOut: 'TIMEOUT',
  loopDetected: 'LOOP_DETECTED',
  noProgress: 'NO_PROGRESS',
  retryLimitReached: 'RETRY_LIMIT_REACHED',
  toolFailure: 'TOOL_FAILURE',
  modelRefused: 'MODEL_REFUSED',
  actionInDoubt: 'ACTION_IN_DOUBT',
  userKilled: 'USER_KILLED',
  resultRejected: 'RESULT_REJECTED',
  internalError: 'INTERNAL_ERROR',
} as const;
export type FinalState = keyof typeof FINAL_REASONS;

/** One configuration of the modelled agent; each is walked separately. */
export interface ModelConfig {
  readonly name: string;
  readonly maxTurns: number;
  readonly progress: { everyTurns: number; maxFailedChecks: number } | null;
  /** Whether the side-effecting tool can be reconciled after an in-doubt failure. */
  readonly reconcilable: boolean;
  readonly onApprovalTimeout: 'escalate' | 'replan';
  /** Which model decisions the event cases offer (all of them unless narrowed). */
  readonly decisions: readonly Decision[];
  /** An unreconcilable in-doubt call ends the run (default) or waits for a human. */
  readonly inDoubt?: 'fail' | 'ask';
  /** Whether the run has a wall-clock deadline (default true). */
  readonly deadline?: boolean;
  /** Context compaction (default off); every modelled call reports 10 input tokens, so a threshold of 10 makes it due after each call. */
  readonly compaction?: { readonly thresholdTokens: number | null } | null;
  /** Restate the goal every N turns (default never). */
  readonly goalReminderEveryTurns?: number;
  /** Offer edited (valid and invalid) and stale decisions in awaitingApproval (default off). */
  readonly approvalEdits?: boolean;
  /** Answers are checked, at most this many (default: not checked). */
  readonly verifyAttempts?: number;
  /** Offer results that fail the tool's output check (hidden failures) in acting (default off). */
  readonly hiddenFailures?: boolean;
}

/**
 * Two tools: `search` is read-only (retry 2 attempts, circuit threshold 3, so that
 * its retries run out before its circuit opens: RETRY_LIMIT_REACHED), `pay` is
 * non-idempotent, always needs approval, and has retry 2 / circuit threshold 2
 * (its circuit opens at the second consecutive failure: TOOL_FAILURE with
 * circuitOpen). The model has retry 2 / circuit 2. Cool-downs are far longer
 * than the fixed clock ever moves, so an open circuit stays open.
 */
export function buildSpec(config: ModelConfig, now: () => number = () => NOW): AgentSpec {
  const retry = RetryPolicy.parse({ maxAttempts: 2, baseDelayMs: 0, maxDelayMs: 0 });
  const tools = new Map<string, ToolPolicy>([
    [
      'search',
      {
        input: z.object({ q: z.string() }),
        sideEffect: 'none',
        retry,
        circuit: CircuitPolicy.parse({ failureThreshold: 3, cooldownMs: 3_600_000 }),
        reconcilable: false,
        requiresApproval: () => false,
      },
    ],
    [
      'pay',
      {
        input: z.object({ amount: z.number() }),
        sideEffect: 'non-idempotent',
        retry,
        circuit: CircuitPolicy.parse({ failureThreshold: 2, cooldownMs: 3_600_000 }),
        reconcilable: config.reconcilable,
        requiresApproval: () => true,
      },
    ],
    [
      // Rate limited: a try its limit refuses waits (rateWaiting) and tries again.
      'email',
      {
        input: z.object({ to: z.string() }),
        sideEffect: 'idempotent',
        retry,
        circuit: CircuitPolicy.parse({ failureThreshold: 3, cooldownMs: 3_600_000 }),
        reconcilable: false,
        requiresApproval: () => false,
      },
    ],
    [
      // Starts a sub-run: its result carries the sub-run's spend, or a budget had no room for it.
      'spawn',
      {
        input: z.object({ task: z.string() }),
        sideEffect: 'idempotent',
        retry,
        circuit: CircuitPolicy.parse({ failureThreshold: 3, cooldownMs: 3_600_000 }),
        reconcilable: false,
        requiresApproval: () => false,
      },
    ],
  ]);
  return {
    tools,
    // The smallest loop policy the schema allows: two identical actions in a row warn, a third ends the run.
    loop: LoopPolicy.parse({ window: 4, minRepeats: 2, maxPeriod: 2, staleRepeats: 2, warnFirst: true }),
    progress: config.progress === null ? null : ProgressPolicy.parse(config.progress),
    modelRetry: retry,
    modelCircuit: CircuitPolicy.parse({ failureThreshold: 2, cooldownMs: 3_600_000 }),
    approval: { timeoutMs: APPROVAL_TIMEOUT_MS, onTimeout: config.onApprovalTimeout },
    inDoubt: config.inDoubt ?? 'fail',
    prices: { 'test-model': { inputPerMTok: 1, outputPerMTok: 2 } },
    maxArgumentBytes: 1_024,
    compaction: config.compaction ?? null,
    goalReminderEveryTurns: config.goalReminderEveryTurns ?? null,
    verify: config.verifyAttempts ? { maxAttempts: config.verifyAttempts } : null,
    now,
  };
}

/** Actors that start but never settle: the test delivers every result itself. */
const never = () => new Promise<never>(() => {});
export const stubActors = {
  callModel: fromPromise<ModelCallResult, ModelCallInput>(never),
  callTool: fromPromise<ToolCallResult, ToolCallInput>(never),
  reconcileCall: fromPromise<ReconcileResult, ReconcileInput>(never),
  judgeProgress: fromPromise<JudgeResult, JudgeInput>(never),
  compactTranscript: fromPromise<CompactionResult, CompactInput>(never),
  verifyAnswer: fromPromise<VerifyResult, VerifyInput>(never),
};

/** The machine under test: the real chart and guards with stubbed actors. */
export function buildMachine(config: ModelConfig, now?: () => number) {
  return createAgentMachine(buildSpec(config, now)).provide({ actors: stubActors });
}
export type TestMachine = ReturnType<typeof buildMachine>;
export type TestSnapshot = SnapshotFrom<TestMachine>;

/** The run's input: the turn budget of the configuration and the wall clock whose deadline NOW sits on. */
export function buildInput(config: ModelConfig): AgentInput {
  return {
    runId: 'run-1',
    agentId: 'model-agent',
    goal: 'pay the invoice once',
    limits: config.deadline === false ? { maxTurns: config.maxTurns } : { maxTurns: config.maxTurns, maxWallClockMs: WALL_CLOCK_MS },
    startedAt: STARTED_AT,
    seed: 42,
  };
}

// ---------------------------------------------------------------------------
// Event cases

const meta = (finishReason: ModelResponse['finishReason']) => ({
  usage: { inputTokens: 10, outputTokens: 5 },
  finishReason,
  rawFinishReason: finishReason,
  modelId: 'test-model',
});

/** The model decisions the walk offers in `planning`. */
export const DECISIONS = {
  callSearch: { type: 'tool_calls', text: '', calls: [{ id: 'c-s', name: 'search', arguments: '{"q":"invoice"}' }], ...meta('tool_calls') },
  callPay: { type: 'tool_calls', text: '', calls: [{ id: 'c-p', name: 'pay', arguments: '{"amount":10}' }], ...meta('tool_calls') },
  // Two calls, so that a rejection or an expired approval must answer the queued one too.
  callPayThenSearch: {
    type: 'tool_calls',
    text: '',
    calls: [
      { id: 'c-p', name: 'pay', arguments: '{"amount":10}' },
      { id: 'c-s', name: 'search', arguments: '{"q":"invoice"}' },
    ],
    ...meta('tool_calls'),
  },
  // The same read twice in one turn: the loop guard warns; once more and the run ends.
  callSearchTwice: {
    type: 'tool_calls',
    text: '',
    calls: [
      { id: 'c-s1', name: 'search', arguments: '{"q":"invoice"}' },
      { id: 'c-s2', name: 'search', arguments: '{"q":"invoice"}' },
    ],
    ...meta('tool_calls'),
  },
  callInvalid: { type: 'tool_calls', text: '', calls: [{ id: 'c-x', name: 'search', arguments: '{"q":' }], ...meta('tool_calls') },
  callNothing: { type: 'tool_calls', text: 'thinking', calls: [], ...meta('tool_calls') },
  callEmail: { type: 'tool_calls', text: '', calls: [{ id: 'c-e', name: 'email', arguments: '{"to":"a@example.com"}' }], ...meta('tool_calls') },
  callSpawn: { type: 'tool_calls', text: '', calls: [{ id: 'c-n', name: 'spawn', arguments: '{"task":"read"}' }], ...meta('tool_calls') },
  answer: { type: 'answer', result: { paid: true }, ...meta('stop') },
  giveUp: { type: 'give_up', explanation: 'no invoice exists', ...meta('stop') },
  escalate: { type: 'escalate', why: 'needs a human', ...meta('stop') },
  refused: { type: 'refused', message: 'cannot help with that', ...meta('content_filter') },
  // Output cut off at its limit in the middle of a call: re-asked with a raised limit, then after compaction, then MODEL_REFUSED.
  truncated: { type: 'truncated', text: '', calls: [{ id: 'c-t', name: 'search', arguments: '{"q":"inv' }], maxOutputTokens: 100, ...meta('length') },
} satisfies Record<string, ModelResponse>;
export type Decision = keyof typeof DECISIONS;
/**
 * Every decision but `truncated`, whose recovery has walks of its own (it only repeats turns the others already take),
 * and the rate-limited and sub-run calls, which have theirs.
 */
export const ALL_DECISIONS = (Object.keys(DECISIONS) as Decision[]).filter((d) => d !== 'truncated' && d !== 'callEmail' && d !== 'callSpawn');

/** Compaction results: a summary replaced the middle, or there was nothing to replace. */
const COMPACTED: CompactionResult = { compacted: true, replaced: 3, kept: 4, by: 'digest', spend: null };
const NOTHING_TO_COMPACT: CompactionResult = { compacted: false, replaced: 0, kept: 2, by: 'none', spend: null };

const err = (name: string) => ({ name, message: `${name} happened` });
const done = (id: string, output: unknown): AnyEventObject => ({ type: `xstate.done.actor.${id}`, output });
/** An invoked actor that threw (a judge or a model adapter bug): the machine ends the run INTERNAL_ERROR or ACTION_IN_DOUBT. */
const error = (id: string): AnyEventObject => ({ type: `xstate.error.actor.${id}`, error: Object.assign(new Error(`${id} actor crashed`), { name: 'ActorCrash' }) });

/** Failed calls as the runtime reports them (data, never a throw). */
const FAILURES = {
  retryable: { ok: false, error: err('Busy'), retryable: true, timedOut: false },
  fatal: { ok: false, error: err('BadRequest'), retryable: false, timedOut: false },
  // No classification and timed out: in doubt for a non-idempotent tool, retryable for a read-only one.
  timedOut: { ok: false, error: err('Timeout'), timedOut: true },
  // Returned, but its output check rejected it: retried like a throw, then the model is told and re-plans.
  hidden: { ok: false, error: err('HiddenToolFailure'), hidden: true, timedOut: false },
} as const;

const PAUSE = { type: 'PAUSE', by: 'ops', why: 'look' } as const;
const RESUME = { type: 'RESUME', by: 'ops' } as const;
const KILL = { type: 'KILL', by: 'ops', why: 'stop' } as const;
const APPROVE = { type: 'APPROVE', by: 'ops' } as const;
const REJECT = { type: 'REJECT', by: 'ops', feedback: 'too much' } as const;
/** Decisions operators send through the approval queue: edited arguments (valid, invalid) and a late one for another item. */
const APPROVE_EDITED = { type: 'APPROVE', by: 'ops', arguments: { amount: 20 } } as const;
const APPROVE_EDITED_INVALID = { type: 'APPROVE', by: 'ops', arguments: { amount: 'lots' } } as const;
const APPROVE_STALE = { type: 'APPROVE', by: 'ops', item: 'run-1:0:0:call' } as const;
const REJECT_STALE = { type: 'REJECT', by: 'ops', feedback: 'late', item: 'run-1:0:0:call' } as const;
/** What a sub-run spent (one run, one turn), as the sub-agent tool reports it. */
const SUB_SPEND = { runs: 1, usage: { turns: 1, inputTokens: 10, outputTokens: 5, cachedInputTokens: 0, reasoningTokens: 0, costUsd: 0.00002, costKnown: true } };

/** The leaf state the run is in, e.g. "planning", "paused", "completed". */
export function leafOf(snapshot: TestSnapshot): string {
  return stateName(snapshot.value).split('.').pop() ?? 'running';
}

/** How a walk keeps its graph small; see the test file for why each bound is safe. */
export interface WalkBounds {
  /**
   * Where PAUSE, KILL and the deadline are offered: in any state that handles
   * them, only in the helper calls (`judging`, `compacting`), or nowhere. At most one of them per run either way
   * (a paused run may still be resumed or killed, in every walk).
   */
  readonly interrupts: 'anywhere' | 'helpers' | 'nowhere';
  /** Model decisions offered from the second turn on (all of `config.decisions` when absent). */
  readonly laterDecisions?: readonly Decision[];
  /** When failed calls and crashed actors are offered: in every turn (the default), in the first turn only, or never. */
  readonly failures?: 'always' | 'firstTurn' | 'never';
}

/** Which turn the run is in: a model call in flight (or being retried) belongs to the next turn. */
export function turnOf(snapshot: TestSnapshot): number {
  const ctx = snapshot.context;
  const leaf = leafOf(snapshot);
  const modelPending = leaf === 'planning' || (leaf === 'backingOff' && ctx.failure?.target === 'model');
  return modelPending ? ctx.usage.turns + 1 : ctx.usage.turns;
}

/**
 * The event cases offered in one state: only what that state handles (an
 * unhandled `xstate.error.actor.*` would put the machine in status 'error').
 */
export function eventCases(config: ModelConfig, bounds: WalkBounds) {
  return (snapshot: TestSnapshot): AnyEventObject[] => {
    if (snapshot.status !== 'active') return [];
    const leaf = leafOf(snapshot);
    if (leaf === 'paused') return [RESUME, KILL];
    const ctx = snapshot.context;
    const turn = turnOf(snapshot);
    const fresh = ctx.pauseRequest === null && !pausedBefore(snapshot);
    const offer =
      fresh && (bounds.interrupts === 'anywhere' || (bounds.interrupts === 'helpers' && (leaf === 'judging' || leaf === 'compacting' || leaf === 'verifying')));
    const interrupts: AnyEventObject[] = offer ? [KILL, ...(ctx.deadlineAt !== null ? [{ type: AFTER.deadline }] : []), PAUSE] : [];
    // A pause requested during a call can be taken back before it takes effect.
    if (ctx.pauseRequest !== null && bounds.interrupts === 'anywhere') interrupts.push(RESUME);
    const later = turn >= 2;
    const decisions = later && bounds.laterDecisions ? bounds.laterDecisions : config.decisions;
    const failures = bounds.failures === 'never' ? false : bounds.failures === 'firstTurn' ? !later : true;
    switch (leaf) {
      case 'planning':
        return [
          ...decisions.map((d) => done('model', { ok: true, response: DECISIONS[d] })),
          ...(failures ? [done('model', FAILURES.retryable), done('model', FAILURES.fatal), done('model', FAILURES.timedOut), error('model')] : []),
          ...interrupts,
        ];
      case 'acting':
        return [
          done('tool', { ok: true, result: { ok: ctx.current?.call.name ?? '?' } }),
          ...(ctx.current?.call.name === 'email'
            ? [done('tool', { ok: false, rateLimited: true, retryAfterMs: 0, error: err('RateLimited'), timedOut: false })]
            : []),
          ...(ctx.current?.call.name === 'spawn'
            ? [
                done('tool', { ok: true, result: { reason: 'COMPLETED' }, spent: SUB_SPEND }),
                done('tool', { ok: false, error: err('BudgetExceededError'), retryable: false, timedOut: false, budget: { budget: 'fanOut', limit: 1, used: 1 } }),
              ]
            : []),
          ...(failures ? [done('tool', FAILURES.retryable), done('tool', FAILURES.fatal), done('tool', FAILURES.timedOut), error('tool')] : []),
          ...(config.hiddenFailures ? [done('tool', FAILURES.hidden)] : []),
          ...interrupts,
        ];
      case 'reconciling':
        return [done('reconcile', { applied: true, result: { ok: 'pay' } }), done('reconcile', { applied: false }), error('reconcile'), ...interrupts];
      case 'compacting':
        // A crashed compaction (a summariser's bug) is offered in every walk that compacts: it is not a call failure the bounds ration.
        return [done('compact', COMPACTED), done('compact', NOTHING_TO_COMPACT), error('compact'), ...interrupts];
      case 'verifying':
        return [
          done('verify', { accepted: true, reason: 'complete', by: 'verify', spend: null }),
          done('verify', { accepted: false, reason: 'half the job', by: 'verify', spend: null }),
          error('verify'),
          ...interrupts,
        ];
      case 'judging':
        return [
          done('judge', { progressing: true, why: 'new results' }),
          done('judge', { progressing: false, why: 'nothing new' }),
          error('judge'),
          ...interrupts,
        ];
      case 'awaitingApproval':
        return [
          APPROVE,
          REJECT,
          { type: AFTER.approvalDue },
          ...(config.approvalEdits ? [APPROVE_EDITED, APPROVE_EDITED_INVALID, APPROVE_STALE, REJECT_STALE] : []),
          ...interrupts,
        ];
      case 'backingOff':
        return [{ type: AFTER.retry }, ...interrupts];
      case 'rateWaiting':
        return [{ type: AFTER.rateRetry }, ...interrupts];
      default:
        throw new Error(`the walk reached an unexpected resting state: ${leaf}`);
    }
  };
}

/** An event case the walk dropped because another event from the same state reaches the same next state. */
export interface PrunedMove {
  readonly from: TestSnapshot;
  readonly event: AnyEventObject;
}

/**
 * Keeps one event per distinct next state (and none that leaves the state as
 * it was: an ignored late decision is a self-loop no simple path takes): events that lead to the same
 * abstract state (a retryable and a timed-out failure of a read-only tool, a
 * REJECT and an expired approval that re-plans) are parallel edges, and each
 * one multiplies the number of simple paths without reaching anything new.
 * Dropped events are reported to `onPruned`, so that the test still takes each
 * of them once (the transition tour). An event that leaves the machine in
 * status 'error' (an unhandled error event) is reported to `onError`.
 */
export function distinctMoves(
  machine: TestMachine,
  cases: (s: TestSnapshot) => AnyEventObject[],
  hooks: { onPruned?: (move: PrunedMove) => void; onError?: (move: PrunedMove) => void } = {},
) {
  return (snapshot: TestSnapshot): AnyEventObject[] => {
    const seen = new Set<string>([serializeState(snapshot)]);
    return cases(snapshot).filter((event) => {
      const [next] = transition(machine, snapshot, event as never);
      if (next.status === 'error') hooks.onError?.({ from: snapshot, event });
      const key = serializeState(next);
      if (seen.has(key)) {
        hooks.onPruned?.({ from: snapshot, event });
        return false;
      }
      seen.add(key);
      return true;
    });
  };
}

// ---------------------------------------------------------------------------
// Serialisation

/** Whether the run has been paused before: leaving `active` records the deep history, and nothing clears it. */
export function pausedBefore(snapshot: TestSnapshot): boolean {
  return Object.keys(snapshot.historyValue ?? {}).length > 0;
}

const serialised = new WeakMap<object, string>();

/**
 * A state's identity in the graph: the state value, the history value (RESUME
 * goes back through a deep history state) and every context field a guard
 * reads. Fields no guard reads (inbox, step, rng, retryAt, approvalDueAt,
 * paused.at) are left out, so the graph is finite: turns are bounded by
 * maxTurns, attempts by retry policies, history by the loop window.
 */
export function serializeState(snapshot: TestSnapshot): string {
  const cached = serialised.get(snapshot);
  if (cached !== undefined) return cached;
  const c = snapshot.context;
  // Only RESUME reads the history value, and every way into `paused` rewrites it first: it matters in `paused` only.
  const history =
    leafOf(snapshot) === 'paused'
      ? Object.fromEntries(Object.entries(snapshot.historyValue ?? {}).map(([id, nodes]) => [id, (nodes as Array<{ id: string }>).map((n) => n.id)]))
      : null;
  const key = JSON.stringify({
    s: snapshot.status,
    v: snapshot.value,
    h: history,
    turns: c.usage.turns,
    modelAttempt: c.modelAttempt,
    queue: c.queue.map((q) => q.name),
    current: c.current && { tool: c.current.call.name, bad: c.current.problem !== null, attempt: c.current.attempt, approved: c.current.approvedBy !== null },
    failure: c.failure && { target: c.failure.target, kind: c.failure.kind, hidden: c.failure.hidden === true },
    history: c.history.map((a) => `${a.tool}:${a.argsHash}:${a.resultHash}:${a.ok}`),
    circuits: Object.fromEntries(Object.entries(c.circuits).map(([k, v]) => [k, `${v.status}:${v.consecutiveFailures}`])),
    loopWarned: c.loopWarned,
    progress: c.progress,
    verification: { attempts: c.verification.attempts, accepted: c.verification.last?.accepted ?? null },
    truncations: c.truncations,
    contextTokens: c.contextTokens,
    compaction: c.compaction,
    lastReminderTurn: c.lastReminderTurn,
    pauseRequest: c.pauseRequest !== null,
    paused: c.paused !== null,
    reason: c.outcome?.reason ?? null,
    pausedBefore: pausedBefore(snapshot),
    rateRefused: c.rateRetryAt !== null,
    subtreeRuns: c.subtree.runs,
  });
  serialised.set(snapshot, key);
  return key;
}

// ---------------------------------------------------------------------------
// Transition coverage

type TransitionDef = { source: { id: string; transitions: Map<string, unknown[]>; always?: unknown[] }; eventType: string; guard?: unknown; target?: ReadonlyArray<{ id: string }> };
type NodeLike = { states: Record<string, NodeLike> } & TransitionDef['source'];

function guardName(guard: unknown): string {
  if (typeof guard === 'string') return guard;
  if (guard && typeof guard === 'object' && 'type' in guard) return String((guard as { type: unknown }).type);
  return '';
}

/** A transition of the chart as a reader names it: `source | event [guard] -> target`. */
export function transitionLabel(t: TransitionDef): string {
  const source = t.source.id.replace(/^agent\.?/, '') || 'agent';
  const event = t.eventType === '' ? 'always' : t.eventType.replace(/^xstate\.after\.(\w+)\..*$/, 'after:$1');
  const guard = guardName(t.guard);
  const target = t.target?.map((n) => n.id.replace(/^agent\./, '')).join(',') ?? '(stay)';
  return `${source} | ${event}${guard ? ` [${guard}]` : ''} -> ${target}`;
}

/** The event types the chart handles anywhere (its own, invoke results, delayed events). */
export function chartEventTypes(machine: TestMachine): Set<string> {
  const types = new Set<string>();
  const visit = (node: NodeLike) => {
    for (const type of node.transitions.keys()) types.add(type);
    for (const child of Object.values(node.states)) visit(child);
  };
  visit(machine.root as unknown as NodeLike);
  return types;
}

/** Every transition of the chart: each state node's event, delayed, invoke and eventless transitions. */
export function chartTransitions(machine: TestMachine): string[] {
  const labels: string[] = [];
  const visit = (node: NodeLike) => {
    for (const defs of node.transitions.values()) for (const t of defs) labels.push(transitionLabel(t as TransitionDef));
    for (const t of node.always ?? []) labels.push(transitionLabel(t as TransitionDef));
    for (const child of Object.values(node.states)) visit(child);
  };
  visit(machine.root as unknown as NodeLike);
  return labels;
}

// ---------------------------------------------------------------------------
// Replay on a real actor

export interface Replay {
  /** State value after each event. */
  readonly values: unknown[];
  readonly status: string;
  readonly output: unknown;
  readonly finalState: string | null;
  /** Labels of the chart transitions taken (plain replays only). */
  readonly taken: ReadonlySet<string>;
}

/**
 * Sends `events` to a started actor, optionally persisting the snapshot as JSON
 * and restoring a fresh actor from it before every event. The actor's clock is
 * a SimulatedClock that is never advanced, so the machine's own timers never
 * fire: the test delivers every delayed event itself.
 */
export function replay(machine: TestMachine, input: AgentInput, events: readonly AnyEventObject[], roundTrip: boolean): Replay {
  const errors: unknown[] = [];
  const taken = new Set<string>();
  const inspect = roundTrip
    ? undefined
    : (event: { type: string }) => {
        if (event.type !== '@xstate.microstep') return;
        for (const t of (event as unknown as { _transitions: TransitionDef[] })._transitions) taken.add(transitionLabel(t));
      };
  const start = (snapshot?: unknown) => {
    const a = createActor(machine, {
      input,
      clock: new SimulatedClock(),
      ...(snapshot ? { snapshot: snapshot as never } : {}),
      ...(inspect ? { inspect } : {}),
    });
    a.subscribe({ error: (e) => errors.push(e) });
    return a.start();
  };
  let actor = start();
  const values: unknown[] = [];
  for (const event of events) {
    if (roundTrip) {
      const persisted: unknown = JSON.parse(JSON.stringify(actor.getPersistedSnapshot()));
      actor.stop();
      actor = start(persisted);
    }
    actor.send(event as never);
    values.push(actor.getSnapshot().value);
  }
  const snapshot = actor.getSnapshot();
  actor.stop();
  if (errors.length > 0) throw errors[0];
  return {
    values,
    status: snapshot.status,
    output: snapshot.output,
    finalState: snapshot.status === 'done' ? leafOf(snapshot) : null,
    taken,
  };
}
