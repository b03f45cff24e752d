import { z } from 'zod';
import { ActionRecord } from '../guards/action.js';
import { BudgetName } from '../guards/budget.js';
import { CircuitState } from '../guards/circuit.js';
import { RunLimits, SubtreeSpend } from '../guards/nested-budget.js';
import { Usage } from '../guards/usage.js';
import { ErrorInfo, TerminalOutcome } from './outcome.js';
import { Message, ModelResponse, ToolCall, VerifyResult } from './model-types.js';

/** Who paused or killed a run, and why: operators act on evidence, so every control carries it. */
export const Actor = z.object({ by: z.string(), why: z.string() });
export type Actor = z.infer<typeof Actor>;

/** The tool call in hand: parsed input, attempt number and the idempotency key of this attempt. */
export const CurrentCall = z.object({
  call: ToolCall,
  input: z.json().nullable(),
  problem: z.string().nullable(),
  hint: z.string().nullable(),
  attempt: z.number().int().positive(),
  step: z.number().int().positive(),
  approvedBy: z.string().nullable(),
  /** Set when an operator edited the arguments before approving: `input` is theirs, and the model is told. */
  editedBy: z.string().nullable().optional(),
  /** Tries of this attempt its shared rate limit refused so far (each try has its own journal entry). */
  rateTries: z.number().int().nonnegative().optional(),
});
export type CurrentCall = z.infer<typeof CurrentCall>;

/** The last failed call, classified, so that the next transition (retry, reconcile, fail) is a guard on data. */
export const Failure = z.object({
  target: z.enum(['model', 'tool']),
  error: ErrorInfo,
  retryable: z.boolean().optional(),
  timedOut: z.boolean(),
  /** The call returned a result its tool's output check rejected; once its retries are spent, the model is told and re-plans. */
  hidden: z.boolean().optional(),
  /** budget: the call was refused because a budget had no room for it (a sub-run the fan-out or spend budget cannot pay for). */
  kind: z.enum(['retryable', 'fatal', 'in-doubt', 'budget']),
  /** For kind 'budget': which budget, its limit and what was used. */
  budget: z.object({ budget: BudgetName, limit: z.number(), used: z.number() }).optional(),
});
export type Failure = z.infer<typeof Failure>;

/**
 * Everything a run knows, as JSON: the snapshot is its whole state (no hidden
 * state outside context and the machine). Bounded by design: the transcript
 * lives beside the snapshot; `inbox` holds one turn, `history` one loop window.
 */
export const AgentContext = z.object({
  runId: z.string(),
  agentId: z.string(),
  goal: z.string(),
  limits: RunLimits,
  startedAt: z.number(),
  deadlineAt: z.number().nullable(),
  /** The stable state the run last entered: evidence for TIMEOUT, USER_KILLED and INTERNAL_ERROR, from context alone. */
  phase: z.string(),
  usage: Usage,
  /** What finished sub-runs spent, all levels down; the budgets are checked against usage + this. */
  subtree: SubtreeSpend,
  rng: z.number().int().nonnegative(),
  /** Counts every external call (model or tool) so that (run, step, attempt) names each attempt once. */
  step: z.number().int().nonnegative(),
  modelAttempt: z.number().int().positive(),
  failedTurns: z.number().int().nonnegative(),
  /** Model responses in a row cut off at their output limit; each one escalates the recovery (raised limit, compaction, give up). */
  truncations: z.number().int().nonnegative(),
  /** Input tokens of the last model call: how full the context window was; null once compacted, until the next call measures it. */
  contextTokens: z.number().int().nonnegative().nullable(),
  /** Compactions so far, and the reason and result of the latest one. */
  compaction: z.object({
    count: z.number().int().nonnegative(),
    reason: z.enum(['threshold', 'length']).nullable(),
    compacted: z.boolean().nullable(),
  }),
  /** The turn the goal was last restated to the model (0: only as the first message). */
  lastReminderTurn: z.number().int().nonnegative(),
  inbox: z.array(Message),
  response: ModelResponse.nullable(),
  queue: z.array(ToolCall),
  current: CurrentCall.nullable(),
  failure: Failure.nullable(),
  retryAt: z.number().nullable(),
  approvalDueAt: z.number().nullable(),
  /** When the pending approval was requested (its queue item's requested-at survives a restore). */
  approvalRequestedAt: z.number().nullable(),
  /** The last approval decision the run took, for the queue and the audit trail. */
  lastApproval: z
    .object({
      item: z.string(),
      status: z.enum(['approved', 'rejected', 'expired']),
      by: z.string(),
      at: z.number(),
      feedback: z.string().nullable(),
      edited: z.boolean(),
    })
    .nullable(),
  /** A rate-limited call refused by its limit retries at this time (durable, re-armed after a restore). */
  rateRetryAt: z.number().nullable(),
  history: z.array(ActionRecord),
  circuits: z.record(z.string(), CircuitState),
  loopWarned: z.boolean(),
  progress: z.object({
    lastCheckTurn: z.number().int().nonnegative(),
    checks: z.number().int().nonnegative(),
    failedChecks: z.number().int().nonnegative(),
    /** Tokens a model-backed judge has spent in this run (its own budget is checked against this). */
    judgeTokens: z.number().int().nonnegative(),
  }),
  /** Checks of the agent's answers: how many ran, why each rejected one was, the latest verdict and when, what model-backed checks spent. */
  verification: z.object({
    attempts: z.number().int().nonnegative(),
    reasons: z.array(z.string()),
    last: VerifyResult.extend({ at: z.number() }).nullable(),
    tokens: z.number().int().nonnegative(),
  }),
  pauseRequest: Actor.nullable(),
  paused: Actor.extend({ at: z.number() }).nullable(),
  outcome: TerminalOutcome.nullable(),
});
export type AgentContext = z.infer<typeof AgentContext>;

/** What starts a run: the goal and the limits; everything else starts empty. */
export const AgentInput = z.object({
  runId: z.string().min(1),
  agentId: z.string().min(1),
  goal: z.string(),
  limits: RunLimits,
  startedAt: z.number(),
  seed: z.number().int().nonnegative(),
});
export type AgentInput = z.infer<typeof AgentInput>;

/** Operator events. Invoke results arrive as xstate.done.actor.<id> / xstate.error.actor.<id>. */
export type AgentEvent =
  | { type: 'PAUSE'; by: string; why: string }
  | { type: 'RESUME'; by: string }
  | { type: 'KILL'; by: string; why: string }
  /**
   * `arguments`: the operator's edit of the call's input, validated again by
   * the run (invalid: the call is not run and the model is told why).
   * `item`: the approval item the decision is for; a decision for another item
   * (a late command after the run moved on) is ignored. Absent: the pending one.
   */
  | { type: 'APPROVE'; by: string; arguments?: z.core.util.JSONType; item?: string }
  | { type: 'REJECT'; by: string; feedback: string; item?: string }
  /** Sent by the supervisor after a restore: XState does not persist delayed events, so timer states re-enter and re-arm from the due times in context. */
  | { type: 'reins.rearm' };
