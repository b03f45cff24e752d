import { StoreUnavailableError } from '../../persistence/errors.js';
import { commitOf } from '../../persistence/commit.js';
import type { Fence, RunCommit, SnapshotStore } from '../../persistence/store.js';

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

/**
 * A store handle whose process dies inside the first commit that `at`
 * picks, with only its first parts up to `upTo` durable (the transcript
 * steps; with 'results', the call results too), and nothing after it
 * reaching the store. Every store applies a commit whole, so no crash leaves
 * this: it is the worst a store that tore a commit could leave, and the run
 * must still do nothing twice.
 */
export function dyingInsideCommit(
  store: SnapshotStore,
  at: (commit: RunCommit) => boolean,
  upTo: 'transcript' | 'results',
): { store: SnapshotStore; died: () => boolean } {
  let died = false;
  const proxy = new Proxy(store, {
    get(target, prop) {
      const value = Reflect.get(target, prop) as unknown;
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        if (died && prop !== 'close') return new Promise(() => {});
        const commit = args[0] as RunCommit;
        if (prop === 'commit' && at(commit)) {
          const parts = upTo === 'results' ? { transcript: commit.transcript, journalDone: commit.journalDone } : { transcript: commit.transcript };
          await target.commit(commitOf(commit.runId, parts), args[1] as Fence);
          died = true;
          return new Promise(() => {});
        }
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store: proxy, died: () => died };
}
