import { z } from 'zod';
import type { BudgetBreach } from '../guards/budget.js';
import { CircuitPolicy } from '../guards/circuit.js';
import type { RunLimits, SpawnBudget, SubtreeSpend } from '../guards/nested-budget.js';
import { RatePolicy } from '../guards/rate-limit.js';
import { RetryPolicy, type SideEffect } from '../guards/retry.js';
import type { TerminalOutcome } from '../machines/outcome.js';
import { ReinsError } from './errors.js';

/**
 * Child runs of the run that calls a tool, as its host provides them: start
 * one (or re-attach to it by id) and wait for its outcome; aborting `signal`
 * ends it.
 */
export interface ChildStarter {
  run(spec: { readonly runId: string; readonly agentId: string; readonly input?: unknown; readonly limits?: RunLimits }, signal: AbortSignal): Promise<TerminalOutcome>;
}

/** What a tool's `run` receives besides its input. */
export interface ToolContext {
  readonly runId: string;
  /**
   * One key per logical call (run, step): the same for every attempt, retry and owner of the run. Pass it
   * to the external system so that it deduplicates: a retry, or the late call of a worker that lost the run,
   * then applies once.
   */
  readonly idempotencyKey: string;
  readonly step: number;
  /** Which attempt of this call this is (1 = first); retries and re-runs after approval count up. */
  readonly attempt: number;
  /**
   * Epoch ms past which this attempt must not take effect (its start plus the tool's timeout): a new owner
   * of the run reconciles or retries the call only after it. Pass it to the provider as a request deadline,
   * or check it right before the effect: a worker frozen mid-call then cannot act after the new owner did.
   */
  readonly deadline: number;
  /** Aborted on timeout, kill, or when the run stops: long calls must honour it. */
  readonly signal: AbortSignal;
  /**
   * What the run can hand down to a sub-run it starts: its limits, what its
   * tree has spent, its time left (see `allocateChild`). Absent only when a
   * tool is called outside a run.
   */
  readonly budget?: SpawnBudget;
  /** The host's child runs (a Supervisor gives one to every run it hosts); absent in process. */
  readonly children?: ChildStarter;
}

/** What `reconcile` says about an attempt whose outcome was unknown. */
export type Reconciliation = { applied: true; result: unknown } | { applied: false };

/**
 * Which calls wait for a human: all (true), those a predicate on the
 * validated input picks, with the queue priority (higher first, default 0)
 * and how long operators have to decide (default: the agent's approval timeout).
 */
export interface ApprovalOptions<I> {
  when?: boolean | ((input: I) => boolean);
  priority?: number;
  timeoutMs?: number;
}

/**
 * A shared rate limit on a tool, per resource: `key` names the bucket a call
 * draws from (e.g. the recipient's domain), and every run and worker on one
 * store shares it. `limit` calls per `perMs`, evenly paced, up to `burst` at
 * once (default 1: no window of perMs ever sees more than `limit`), and at
 * most `concurrency` calls in flight per key. A call over the limit waits
 * (durably, against the run's deadline) instead of failing. `bucket` names
 * the limit when several tools share it (default: the tool's name).
 */
export interface RateLimitOptions<I> extends z.input<typeof RatePolicy> {
  key: (input: I) => string;
  bucket?: string;
}

/** Options for `tool()`; `sideEffect` is required because a wrong default would retry a payment. */
export interface ToolOptions<S extends z.ZodType> {
  name: string;
  description: string;
  input: S;
  /** none: read-only; idempotent: repeating with the same input is harmless; non-idempotent: never repeated blindly. */
  sideEffect: SideEffect;
  timeoutMs?: number;
  retry?: z.input<typeof RetryPolicy>;
  circuit?: z.input<typeof CircuitPolicy>;
  /** true, a predicate on the validated input, or ApprovalOptions: the call waits for an operator's APPROVE. */
  approval?: boolean | ((input: z.output<S>) => boolean) | ApprovalOptions<z.output<S>>;
  /** A shared rate limit per resource (see RateLimitOptions). */
  rateLimit?: RateLimitOptions<z.output<S>>;
  run: (input: z.output<S>, ctx: ToolContext) => Promise<unknown> | unknown;
  /** Finds out whether an attempt with this key took effect (e.g. look the payment up by key). */
  reconcile?: (idempotencyKey: string, input: z.output<S>, ctx: { signal: AbortSignal }) => Promise<Reconciliation> | Reconciliation;
}

/** A tool's rate limit, resolved: the bucket, the key function, the policy. */
export interface ToolRateLimit {
  readonly bucket: string;
  readonly key: (input: unknown) => string;
  readonly policy: RatePolicy;
}

/** A tool with its policies resolved; built by `tool()`. */
export interface ToolDefinition {
  readonly name: string;
  readonly description: string;
  readonly input: z.ZodType;
  readonly sideEffect: SideEffect;
  readonly timeoutMs: number;
  readonly retry: RetryPolicy;
  readonly circuit: CircuitPolicy;
  readonly requiresApproval: (input: unknown) => boolean;
  /** Queue priority and decision time of this tool's approvals (timeoutMs null: the agent's). */
  readonly approval?: { readonly priority: number; readonly timeoutMs: number | null };
  readonly rateLimit?: ToolRateLimit | null;
  readonly run: (input: unknown, ctx: ToolContext) => Promise<unknown> | unknown;
  readonly reconcile: ((idempotencyKey: string, input: unknown, ctx: { signal: AbortSignal }) => Promise<Reconciliation> | Reconciliation) | null;
}

/**
 * A tool result that says what the sub-runs it started spent: the run adds
 * `spent` to its subtree, so its budgets see the tree's spend. Return it with
 * `withSpend(result, spent)`.
 */
export class SpentResult {
  constructor(
    readonly result: unknown,
    readonly spent: SubtreeSpend,
  ) {}
}

/** Marks a tool result with the spend of the sub-runs behind it (see SpentResult). */
export function withSpend(result: unknown, spent: SubtreeSpend): SpentResult {
  return new SpentResult(result, spent);
}

/**
 * Thrown by a tool when a budget of the run has no room for what it was asked
 * to do (a sub-run the fan-out, depth or spend budget cannot pay for): the run
 * ends BUDGET_EXCEEDED naming that budget, not TOOL_FAILURE. Throw it before
 * any side effect: the call is not retried.
 */
export class BudgetExceededError extends ReinsError {
  readonly breach: BudgetBreach;
  constructor(breach: BudgetBreach, message?: string) {
    super('budget-exceeded', message ?? `the ${breach.budget} budget has no room (limit ${breach.limit}, used ${breach.used})`);
    this.breach = breach;
  }
}

export const DEFAULT_TOOL_TIMEOUT_MS = 30_000;
const ToolName = z.string().regex(/^[a-zA-Z][a-zA-Z0-9_-]{0,63}$/, 'tool names are 1-64 letters, digits, _ or -, starting with a letter');
const ApprovalTimeout = z.number().int().positive();

/** Declares a tool: a zod input schema, a side-effect class, and the policies the supervisor applies to it. */
export function tool<S extends z.ZodType>(options: ToolOptions<S>): ToolDefinition {
  ToolName.parse(options.name);
  const approval = options.approval ?? false;
  const approvalOptions: ApprovalOptions<z.output<S>> = typeof approval === 'object' ? approval : { when: approval };
  const when = approvalOptions.when ?? true;
  if (approvalOptions.priority !== undefined && !Number.isInteger(approvalOptions.priority)) throw new Error(`tool ${options.name}: approval priority must be an integer`);
  const rate = options.rateLimit;
  return {
    name: options.name,
    description: options.description,
    input: options.input,
    sideEffect: options.sideEffect,
    timeoutMs: options.timeoutMs ?? DEFAULT_TOOL_TIMEOUT_MS,
    retry: RetryPolicy.parse(options.retry ?? {}),
    circuit: CircuitPolicy.parse(options.circuit ?? {}),
    requiresApproval: typeof when === 'function' ? (input) => when(input as z.output<S>) : () => when,
    approval: {
      priority: approvalOptions.priority ?? 0,
      timeoutMs: approvalOptions.timeoutMs === undefined ? null : ApprovalTimeout.parse(approvalOptions.timeoutMs),
    },
    rateLimit: rate
      ? {
          bucket: rate.bucket ?? options.name,
          key: rate.key as (input: unknown) => string,
          policy: RatePolicy.parse({ limit: rate.limit, perMs: rate.perMs, burst: rate.burst, concurrency: rate.concurrency, slotTtlMs: rate.slotTtlMs }),
        }
      : null,
    run: options.run as ToolDefinition['run'],
    reconcile: (options.reconcile as ToolDefinition['reconcile']) ?? null,
  };
}
