import { z } from 'zod';

/**
 * A shared rate limit: `limit` calls per `perMs`, paced evenly (GCRA), with up
 * to `burst` at once (default 1: then no window of `perMs` ever sees more than
 * `limit`; with a burst b it may see limit + b - 1), and an optional cap on
 * calls in flight.
 */
export const RatePolicy = z.object({
  limit: z.number().int().positive(),
  perMs: z.number().int().positive(),
  burst: z.number().int().positive().default(1),
  concurrency: z.number().int().positive().optional(),
  /** How long a held concurrency slot lasts if its holder dies without releasing it. */
  slotTtlMs: z.number().int().positive().default(60_000),
});
export type RatePolicy = z.input<typeof RatePolicy>;

/** The answer to a rate-limit request: go now, or come back after `retryAfterMs`. */
export type RateDecision = { readonly granted: true } | { readonly granted: false; readonly retryAfterMs: number };

/** One bucket's state: the theoretical arrival time of the next call, and the holders of concurrency slots with their expiry. */
export interface RateState {
  readonly tat: number;
  readonly holders: Readonly<Record<string, number>>;
}

export const EMPTY_RATE_STATE: RateState = { tat: 0, holders: {} };

/**
 * GCRA: a call may go when the bucket's theoretical arrival time is at most
 * `(burst - 1)` emission intervals ahead of now; taking it moves that time one
 * interval on. The concurrency cap is checked first, so a refused call spends
 * no token. Pure: the stores keep the state, RedisStore runs the same rule in Lua.
 */
export function rateDecide(state: RateState, policy: RatePolicy, holder: string, now: number): { decision: RateDecision; state: RateState } {
  const interval = policy.perMs / policy.limit;
  const tolerance = interval * ((policy.burst ?? 1) - 1);
  const holders = Object.fromEntries(Object.entries(state.holders).filter(([, expiresAt]) => expiresAt > now));
  if (policy.concurrency !== undefined && !(holder in holders) && Object.keys(holders).length >= policy.concurrency) {
    const soonest = Math.min(...Object.values(holders));
    return { decision: { granted: false, retryAfterMs: Math.max(1, Math.min(soonest - now, Math.ceil(interval))) }, state: { tat: state.tat, holders } };
  }
  const tat = Math.max(state.tat, now);
  if (tat - now > tolerance) {
    return { decision: { granted: false, retryAfterMs: Math.max(1, Math.ceil(tat - tolerance - now)) }, state: { tat: state.tat, holders } };
  }
  const nextHolders = policy.concurrency === undefined ? holders : { ...holders, [holder]: now + (policy.slotTtlMs ?? 60_000) };
  return { decision: { granted: true }, state: { tat: tat + interval, holders: nextHolders } };
}

/** Frees `holder`'s concurrency slot. */
export function rateRelease(state: RateState, holder: string): RateState {
  const { [holder]: _released, ...holders } = state.holders;
  return { tat: state.tat, holders };
}
