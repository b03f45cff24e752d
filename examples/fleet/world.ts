import { seedFrom } from '../../guards/random.js';

/** Simulated I/O that honours the call's AbortSignal, as real tools must, so that timeouts and kills stop it at once. */
export function latency(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** A latency in [5, 40] ms that is the same for the same call every time, so runs replay alike yet progress stays visible. */
export function latencyOf(key: string): number {
  return 5 + (seedFrom(key) % 36);
}

/** Long enough to outlive any deadline in the fleet: a call that never answers. */
export const HANG_MS = 60_000;
