import { z } from 'zod';

/** How often and how patiently a failing tool call is retried. */
export const RetryPolicy = z.object({
  /** Total attempts, the first one included. */
  maxAttempts: z.number().int().min(1).default(3),
  baseDelayMs: z.number().int().nonnegative().default(200),
  maxDelayMs: z.number().int().nonnegative().default(30_000),
  multiplier: z.number().min(1).default(2),
  /** Full jitter spreads retries of many runs best; equal keeps a floor of half the delay. */
  jitter: z.enum(['full', 'equal', 'none']).default('full'),
});
export type RetryPolicy = z.output<typeof RetryPolicy>;

/** Delay in whole ms before retry number `retry` (1 = the first retry): exponential, capped at maxDelayMs, with jitter from `random` in [0,1) (full: random*cap; equal: cap/2 + random*cap/2). */
export function backoffDelay(retry: number, policy: RetryPolicy, random: number): number {
  if (!Number.isInteger(retry) || retry < 1) throw new RangeError(`retry must be an integer >= 1, got ${retry}`);
  if (!(random >= 0 && random < 1)) throw new RangeError(`random must be in [0,1), got ${random}`);
  // A zero base stays zero: without this, 0 * Infinity (a huge retry number) would be NaN.
  const exponential = policy.baseDelayMs === 0 ? 0 : policy.baseDelayMs * policy.multiplier ** (retry - 1);
  const cap = Math.min(policy.maxDelayMs, exponential);
  const delay = policy.jitter === 'full' ? random * cap : policy.jitter === 'equal' ? cap / 2 + (random * cap) / 2 : cap;
  // Whole ms: timers take integers, and the durable due time is stored as one.
  return Math.floor(delay);
}

/** What a tool says about its own side effects, which decides whether a failed call may be repeated. */
export const SideEffect = z.enum(['none', 'idempotent', 'non-idempotent']);
export type SideEffect = z.infer<typeof SideEffect>;

/** retryable: try again; fatal: stop with TOOL_FAILURE; in-doubt: the call may have had its effect, so repeating it could do it twice. */
export type FailureKind = 'retryable' | 'fatal' | 'in-doubt';

/**
 * Classifies a failed call. retryable false is fatal. retryable true (the tool
 * asserts it did nothing) is retryable, unless the call timed out: it was
 * abandoned mid-flight, so no flag can vouch for what it did. A timeout or an
 * unclassified throw may have had its effect: in doubt for a non-idempotent
 * tool, retryable otherwise.
 */
export function classifyFailure(failure: { retryable?: boolean | undefined; timedOut: boolean }, sideEffect: SideEffect): FailureKind {
  if (failure.retryable === false) return 'fatal';
  if (failure.retryable === true && !failure.timedOut) return 'retryable';
  return sideEffect === 'non-idempotent' ? 'in-doubt' : 'retryable';
}

/** True while another attempt is allowed: attemptsMade < maxAttempts. */
export function canRetry(attemptsMade: number, policy: RetryPolicy): boolean {
  return attemptsMade < policy.maxAttempts;
}
