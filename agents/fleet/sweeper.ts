import type { SnapshotStore } from '../../persistence/store.js';
import type { SliceQueue } from './slice-queue.js';

/**
 * The slow sweep for jobs lost in a Redis failover: jobs are hints, the store
 * is the truth. One worker of the fleet per interval (a lock with the
 * interval as its expiry) wakes every unfinished run that nobody holds and
 * that has not moved for a whole interval. A run that was only resting gets
 * one slice that finds it still resting: harmless, and at most one per
 * interval. Returns how many runs it woke.
 */
export async function sweep(store: SnapshotStore, queue: SliceQueue, everyMs: number, now = Date.now()): Promise<number> {
  const won = await queue.client.set(`${queue.workersKey}:sweep`, String(now), 'PX', Math.max(1, everyMs - 100), 'NX');
  if (won !== 'OK') return 0;
  let woken = 0;
  for (const status of ['running', 'paused'] as const) {
    for (const summary of await store.list({ status })) {
      if (now - summary.updatedAt < everyMs) continue;
      const lease = await store.readLease(summary.runId);
      if (lease && lease.expiresAt > now) continue;
      await queue.wake(summary.runId, 'sweep');
      woken++;
    }
  }
  return woken;
}
