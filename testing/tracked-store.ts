import type { SnapshotStore } from '../persistence/store.js';

/** A store and what is in flight on it: the scenario moves virtual time only when no store operation is pending. */
export interface TrackedStore {
  readonly store: SnapshotStore;
  readonly inFlight: () => number;
  /** Bumped on every operation started or settled. */
  readonly activity: () => number;
}

/** Wraps every method of `store` that returns a promise, counting operations in flight. */
export function trackStore(store: SnapshotStore): TrackedStore {
  let inFlight = 0;
  let activity = 0;
  const wrapped = new Proxy(store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const result = (value as (...a: unknown[]) => unknown).apply(target, args);
        if (!(result instanceof Promise)) return result;
        inFlight++;
        activity++;
        return result.finally(() => {
          inFlight--;
          activity++;
        });
      };
    },
  });
  return { store: wrapped, inFlight: () => inFlight, activity: () => activity };
}
