import { z } from 'zod';
import { BudgetName } from '../guards/budget.js';
import { LoopPattern } from '../guards/loop.js';
import { SubtreeSpend } from '../guards/nested-budget.js';
import { Usage } from '../guards/usage.js';

export { BudgetName, LoopPattern, Usage };

/** An error as plain data: `Error` instances do not survive JSON, so context and outcomes carry this. */
export const ErrorInfo = z.object({
  name: z.string(),
  message: z.string(),
  stack: z.string().optional(),
});
export type ErrorInfo = z.infer<typeof ErrorInfo>;

/** Provider finish reasons, normalised; the raw value travels beside it. */
export const FinishReason = z.enum(['stop', 'length', 'tool_calls', 'content_filter', 'refusal', 'error', 'other']);
export type FinishReason = z.infer<typeof FinishReason>;

/** What the loop tried before it gave up on output cut off at its length limit (MODEL_REFUSED with finishReason 'length'). */
export const LengthRecovery = z.enum(['raised-output-limit', 'compacted-context']);
export type LengthRecovery = z.infer<typeof LengthRecovery>;

/**
 * Which part of a run tree decided an outcome: a pipeline's outcome names the
 * stage and the child run that decided it (absent on a single agent's run).
 */
export const DecidedBy = {
  stage: z.string().optional(),
  childRunId: z.string().optional(),
};

/** Every outcome says how far the run got and what it spent, so a fleet can be cut by reason and cost. */
const base = {
  runId: z.string(),
  agentId: z.string(),
  turns: z.number().int().nonnegative(),
  usage: Usage,
  endedAt: z.number().int().nonnegative(),
  /** Present when the run started sub-runs: how many (all levels down) and what they spent; `usage` is the run's own. */
  subtree: SubtreeSpend.optional(),
  ...DecidedBy,
};

export const PendingCall = z.object({
  callId: z.string(),
  tool: z.string(),
  arguments: z.string(),
});
export type PendingCall = z.infer<typeof PendingCall>;

/** Which check accepted an answer, when, and how many answers it took (present on COMPLETED when a check ran). */
export const Verified = z.object({ by: z.string(), at: z.number().int().nonnegative(), attempts: z.number().int().positive() });
export type Verified = z.infer<typeof Verified>;

export const Completed = z.object({ reason: z.literal('COMPLETED'), ...base, result: z.json(), verified: Verified.optional() });
export const Infeasible = z.object({ reason: z.literal('INFEASIBLE'), ...base, explanation: z.string() });
export const Escalated = z.object({
  reason: z.literal('ESCALATED'),
  ...base,
  by: z.enum(['agent', 'approval-timeout', 'pipeline']),
  why: z.string(),
  pending: PendingCall.nullable(),
});
export const BudgetExceeded = z.object({
  reason: z.literal('BUDGET_EXCEEDED'),
  ...base,
  budget: BudgetName,
  limit: z.number(),
  used: z.number(),
});
export const Timeout = z.object({
  reason: z.literal('TIMEOUT'),
  ...base,
  deadlineMs: z.number().int().nonnegative(),
  elapsedMs: z.number().int().nonnegative(),
  state: z.string(),
  tool: z.string().nullable(),
});
export const LoopDetected = z.object({
  reason: z.literal('LOOP_DETECTED'),
  ...base,
  pattern: LoopPattern,
  period: z.number().int().positive(),
  repeats: z.number().int().positive(),
  window: z.number().int().positive(),
  actions: z.array(z.string()),
  warned: z.boolean(),
});
export const NoProgress = z.object({
  reason: z.literal('NO_PROGRESS'),
  ...base,
  /** The judge's verdict; `judge` names which judge gave it (heuristic, model:<id>, or a fallback). */
  verdict: z.object({ progressing: z.literal(false), why: z.string(), judge: z.string().optional() }),
  failedChecks: z.number().int().positive(),
  checks: z.number().int().positive(),
});
export const RetryLimitReached = z.object({
  reason: z.literal('RETRY_LIMIT_REACHED'),
  ...base,
  tool: z.string(),
  attempts: z.number().int().positive(),
  lastError: ErrorInfo,
});
export const ToolFailure = z.object({
  reason: z.literal('TOOL_FAILURE'),
  ...base,
  tool: z.string(),
  errorClass: z.string(),
  message: z.string(),
  circuitOpen: z.boolean(),
});
export const ModelRefused = z.object({
  reason: z.literal('MODEL_REFUSED'),
  ...base,
  finishReason: FinishReason,
  rawFinishReason: z.string().nullable(),
  message: z.string(),
  /** For 'length': the recoveries tried, in order, before the run gave up; empty for a refusal or a filter. */
  tried: z.array(LengthRecovery).default([]),
});
export const ActionInDoubt = z.object({
  reason: z.literal('ACTION_IN_DOUBT'),
  ...base,
  tool: z.string(),
  idempotencyKey: z.string(),
  error: ErrorInfo,
});
export const UserKilled = z.object({
  reason: z.literal('USER_KILLED'),
  ...base,
  by: z.string(),
  why: z.string(),
  state: z.string(),
  tool: z.string().nullable(),
});
/**
 * The agent answered, and its answers kept failing their check (the result
 * schema or the agent's `verify`) until its attempts were spent: what
 * checked them, the last answer, the reason for each rejection, how many.
 */
export const ResultRejected = z.object({
  reason: z.literal('RESULT_REJECTED'),
  ...base,
  check: z.string(),
  answer: z.json(),
  reasons: z.array(z.string()).min(1),
  attempts: z.number().int().positive(),
});
export const InternalError = z.object({ reason: z.literal('INTERNAL_ERROR'), ...base, where: z.string(), error: ErrorInfo });

/** The one way a run ends: a discriminated union on `reason`, each member with its evidence. */
export const TerminalOutcome = z.discriminatedUnion('reason', [
  Completed,
  Infeasible,
  Escalated,
  BudgetExceeded,
  Timeout,
  LoopDetected,
  NoProgress,
  RetryLimitReached,
  ToolFailure,
  ModelRefused,
  ActionInDoubt,
  UserKilled,
  ResultRejected,
  InternalError,
]);
export type TerminalOutcome = z.infer<typeof TerminalOutcome>;
export type TerminalReason = TerminalOutcome['reason'];
/** The outcome member for one reason, e.g. `OutcomeOf<'TIMEOUT'>`. */
export type OutcomeOf<R extends TerminalReason> = Extract<TerminalOutcome, { reason: R }>;

/** The fields every outcome shares, filled in by the machine; the rest is each reason's evidence. */
export type OutcomeBaseKey = 'runId' | 'agentId' | 'turns' | 'usage' | 'endedAt' | 'subtree';
/** An outcome without its shared fields: what a transition supplies as evidence. */
export type OutcomeEvidence = { [R in TerminalReason]: Omit<OutcomeOf<R>, OutcomeBaseKey> }[TerminalReason];

export const TERMINAL_REASONS = TerminalOutcome.options.map((o) => o.shape.reason.value) as readonly TerminalReason[];

/** Alerting groups: page on "broken", watch "exhausted", count "healthy". */
export const OutcomeGroup = z.enum(['healthy', 'exhausted', 'broken']);
export type OutcomeGroup = z.infer<typeof OutcomeGroup>;

const GROUP_OF: Record<TerminalReason, OutcomeGroup> = {
  COMPLETED: 'healthy',
  INFEASIBLE: 'healthy',
  ESCALATED: 'healthy',
  BUDGET_EXCEEDED: 'exhausted',
  TIMEOUT: 'exhausted',
  LOOP_DETECTED: 'broken',
  NO_PROGRESS: 'broken',
  RETRY_LIMIT_REACHED: 'broken',
  TOOL_FAILURE: 'broken',
  MODEL_REFUSED: 'broken',
  ACTION_IN_DOUBT: 'broken',
  USER_KILLED: 'broken',
  RESULT_REJECTED: 'broken',
  INTERNAL_ERROR: 'broken',
};

/** The alerting group of a terminal reason. */
export function groupOf(reason: TerminalReason): OutcomeGroup {
  return GROUP_OF[reason];
}

/** Turns any thrown value (Error or not) into plain, JSON-safe error data. */
export function toErrorInfo(error: unknown): ErrorInfo {
  if (error instanceof Error) {
    return { name: error.name, message: error.message, ...(error.stack ? { stack: error.stack } : {}) };
  }
  let message: string;
  try {
    message = typeof error === 'string' ? error : JSON.stringify(error) ?? String(error);
  } catch {
    message = String(error);
  }
  return { name: 'NonError', message };
}
