import type { SnapshotStore } from '../../persistence/store.js';

/** Store methods that only read (or watch, or close): everything else a store offers is a write and is counted. */
const READS = new Set(['load', 'list', 'journalGet', 'transcriptRead', 'traceRead', 'readLease', 'peekCommands', 'watchCommands', 'close', 'approvalList', 'approvalGet']);

/** The counters of a counting store. */
export interface ByteCounter {
  counting: boolean;
  bytes: number;
  writes: number;
  /** Counted writes per store method (e.g. how many of them were commits). */
  readonly byMethod: Map<string, number>;
}

/**
 * Wraps a SnapshotStore so that, while `counter.counting` is on, the JSON
 * size of the arguments of every write is added up: the logical bytes a turn
 * hands its store, the same measure for every store. A Proxy rather than a
 * class, so the wrapper follows the store interface as it grows. Off, it
 * costs a property lookup and a branch per call.
 */
export function countingStore(inner: SnapshotStore): { store: SnapshotStore; counter: ByteCounter } {
  const counter: ByteCounter = { counting: false, bytes: 0, writes: 0, byMethod: new Map() };
  const wrapped = new Map<PropertyKey, unknown>();
  const store = new Proxy(inner, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver) as unknown;
      if (typeof value !== 'function') return value;
      let fn = wrapped.get(key);
      if (!fn) {
        const method = value as (...args: unknown[]) => unknown;
        const write = typeof key === 'string' && !READS.has(key);
        fn = (...args: unknown[]) => {
          if (write && counter.counting) {
            counter.writes++;
            counter.byMethod.set(key, (counter.byMethod.get(key) ?? 0) + 1);
            counter.bytes += Buffer.byteLength(JSON.stringify(args));
          }
          return method.apply(target, args);
        };
        wrapped.set(key, fn);
      }
      return fn;
    },
  });
  return { store, counter };
}
