import { z } from 'zod';

/** When a tool's circuit opens (consecutive failures) and how long it stays open before a trial call. */
export const CircuitPolicy = z.object({
  failureThreshold: z.number().int().min(1).default(5),
  cooldownMs: z.number().int().nonnegative().default(30_000),
});
export type CircuitPolicy = z.output<typeof CircuitPolicy>;

/** One tool's circuit breaker, small enough to live in the snapshot. openedAt is when it last opened (ms). */
export const CircuitState = z.object({
  status: z.enum(['closed', 'open', 'half-open']),
  consecutiveFailures: z.number().int().nonnegative(),
  openedAt: z.number().nullable(),
});
export type CircuitState = z.infer<typeof CircuitState>;

/** A healthy circuit: calls go through, no failures counted. */
export const CLOSED_CIRCUIT: CircuitState = { status: 'closed', consecutiveFailures: 0, openedAt: null };

/**
 * Whether a call may go through now. An open circuit whose cool-down has passed
 * admits one trial call and becomes half-open; while that trial is in flight
 * (half-open) every other call fails fast, so a still-broken tool gets one call,
 * not a burst.
 */
export function admitCall(state: CircuitState, now: number, policy: CircuitPolicy): { allowed: boolean; state: CircuitState } {
  switch (state.status) {
    case 'closed':
      return { allowed: true, state };
    case 'half-open':
      return { allowed: false, state };
    case 'open': {
      // An open circuit without an opening time cannot prove its cool-down is still running.
      const cooled = state.openedAt === null || now - state.openedAt >= policy.cooldownMs;
      return cooled ? { allowed: true, state: { ...state, status: 'half-open' } } : { allowed: false, state };
    }
  }
}

/** A call succeeded: the circuit closes and the failure count resets. */
export function recordSuccess(_state: CircuitState): CircuitState {
  return CLOSED_CIRCUIT;
}

/**
 * A call failed: a failed trial (half-open) reopens at once, a closed circuit
 * opens at `failureThreshold` consecutive failures. A straggler failing while
 * already open keeps the original openedAt, so it does not extend the cool-down.
 */
export function recordFailure(state: CircuitState, now: number, policy: CircuitPolicy): CircuitState {
  const consecutiveFailures = state.consecutiveFailures + 1;
  const opens = state.status === 'half-open' || (state.status === 'closed' && consecutiveFailures >= policy.failureThreshold);
  if (opens) return { status: 'open', consecutiveFailures, openedAt: now };
  return { ...state, consecutiveFailures };
}
