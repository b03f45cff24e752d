import { MemoryStore } from '../../persistence/memory-store.js';
import type { SnapshotStore } from '../../persistence/store.js';
import { describeStoreConformance } from './conformance.js';

describeStoreConformance('MemoryStore', async () => {
  const store = new MemoryStore();
  // One process, one map: the "second process" is the same store behind a handle whose close() is its own.
  const peer = async (): Promise<SnapshotStore> =>
    new Proxy(store, {
      get: (target, prop) => {
        if (prop === 'close') return async () => {};
        const value = Reflect.get(target, prop) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
  return { store, peer, corrupt: async (runId, bytes) => store.corruptForTest(runId, bytes), cleanup: () => store.close() };
});
