import type { RatePolicy } from '../../guards/rate-limit.js';
import type { RateLimiter } from '../rate-limits.js';

/** The shared-limiter bucket that caps one tenant's concurrent slices. */
export function tenantBucket(tenant: string): string {
  return `fleet-tenant:${tenant}`;
}

/**
 * A policy that only caps concurrency: `cap` slices of one tenant at once
 * across every worker. The token rate is far above anything a fleet does, so
 * only the slots count. A slot a dead worker held frees itself after
 * `slotTtlMs` (longer than any slice).
 */
export function tenantPolicy(cap: number, slotTtlMs: number): RatePolicy {
  return { limit: 1_000_000, perMs: 1_000, burst: 1_000_000, concurrency: cap, slotTtlMs };
}

/** Takes a slot for one slice of `tenant` (held by the job), or says how long to wait. */
export async function takeTenantSlot(limiter: RateLimiter, tenant: string, holder: string, policy: RatePolicy): Promise<number | null> {
  const decision = await limiter.acquire(tenantBucket(tenant), policy, holder);
  return decision.granted ? null : decision.retryAfterMs;
}
