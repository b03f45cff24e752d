import { StoreUnavailableError } from '../../persistence/errors.js';
import type { SnapshotStore } from '../../persistence/store.js';

/** How a FaultyStore behaves right now. */
export type FaultMode = 'ok' | 'down' | 'frozen';

/**
 * A store handle whose calls can be made to fail (`down`: StoreUnavailableError,
 * as an unreachable Redis gives) or to never answer (`frozen`: the process
 * holding this handle is as good as dead: nothing it does reaches the store).
 * The underlying store is untouched, so another handle sees exactly what was
 * durable at the moment of the fault.
 */
export function faulty(store: SnapshotStore): { store: SnapshotStore; set(mode: FaultMode): void; calls: Map<string, number> } {
  let mode: FaultMode = 'ok';
  const calls = new Map<string, number>();
  const proxy = new Proxy(store, {
    get(target, prop) {
      const value = Reflect.get(target, prop) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls.set(String(prop), (calls.get(String(prop)) ?? 0) + 1);
        if (mode === 'frozen' && prop !== 'close') return new Promise(() => {});
        if (mode === 'down' && prop !== 'close') return Promise.reject(new StoreUnavailableError('connection refused (injected)'));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store: proxy, set: (m) => (mode = m), calls };
}
