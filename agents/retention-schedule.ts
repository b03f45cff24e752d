import { sweepRetention, type RetentionPolicy, type RetentionReport } from './retention.js';
import type { SnapshotStore } from '../persistence/store.js';

/** Retention run by a Supervisor: the policy (default DEFAULT_RETENTION) and how often to sweep (default hourly). */
export interface RetentionOptions {
  readonly policy?: RetentionPolicy;
  readonly everyMs?: number;
}

/** What a schedule tells its owner. */
export interface RetentionListener {
  readonly onReport: (report: RetentionReport) => void;
  readonly onError: (error: unknown) => void;
}

/**
 * Sweeps the store every `everyMs`, one sweep at a time; the timer does not
 * keep the process alive. Sweeps from several workers may overlap: each
 * deletion is decided by the store against the run as stored, so the second
 * finds nothing to do. Returns a stop that waits for a sweep in flight.
 */
export function scheduleRetention(store: SnapshotStore, options: RetentionOptions, listener: RetentionListener): () => Promise<void> {
  let sweeping: Promise<void> | null = null;
  const timer = setInterval(() => {
    sweeping ??= sweepRetention(store, options.policy ? { policy: options.policy } : {})
      .then(listener.onReport, listener.onError)
      .finally(() => (sweeping = null));
  }, options.everyMs ?? 3_600_000);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await sweeping;
  };
}
