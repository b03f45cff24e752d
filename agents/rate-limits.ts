import { EMPTY_RATE_STATE, rateDecide, rateRelease, RatePolicy, type RateDecision, type RateState } from '../guards/rate-limit.js';
import type { SnapshotStore } from '../persistence/store.js';

/**
 * Where rate-limited tools take their tokens. A store's limiter is shared by
 * every run and worker on that store (RedisStore: one Lua script on the
 * server's clock); a local one only by the runs of this process.
 */
export interface RateLimiter {
  /** Takes a token from bucket `key` and, when the policy caps concurrency, a slot held by `holder`. */
  acquire(key: string, policy: RatePolicy, holder: string): Promise<RateDecision>;
  /** Gives back `holder`'s concurrency slot on `key` (tokens are spent, never returned). */
  release(key: string, holder: string): Promise<void>;
  /** True when the limit is shared beyond this process. */
  readonly shared: boolean;
}

/** The limiter of a store: every run and worker on it shares its buckets. */
export function storeRateLimiter(store: Pick<SnapshotStore, 'rateAcquire' | 'rateRelease'>): RateLimiter {
  return {
    acquire: (key, policy, holder) => store.rateAcquire(key, policy, holder),
    release: (key, holder) => store.rateRelease(key, holder),
    shared: true,
  };
}

/** A limiter in this process's memory (GCRA as the stores run it), for runs without a store. */
export function localRateLimiter(now: () => number = Date.now): RateLimiter {
  const buckets = new Map<string, RateState>();
  return {
    async acquire(key, policy, holder) {
      const { decision, state } = rateDecide(buckets.get(key) ?? EMPTY_RATE_STATE, RatePolicy.parse(policy), holder, now());
      buckets.set(key, state);
      return decision;
    },
    async release(key, holder) {
      const state = buckets.get(key);
      if (state) buckets.set(key, rateRelease(state, holder));
    },
    shared: false,
  };
}

/** The limiter runs use when neither their agent nor their environment names one: one per process, so that its runs share it. */
export const processRateLimiter: RateLimiter = localRateLimiter();

/** The bucket key of one call: the limit's bucket and the resource its key function names. */
export function rateKey(bucket: string, resource: string): string {
  return `${bucket}:${resource}`;
}
