import { MemoryStore } from '../../persistence/memory-store.js';
import type { SnapshotStore } from '../../persistence/store.js';

/** A store under test: `open` gives a new handle on the same data, as another process would. */
export interface DurableStoreCase {
  readonly name: string;
  readonly create: () => Promise<{ open: () => Promise<SnapshotStore>; cleanup: () => Promise<void> }>;
}

/** Every store the durable-run tests run against. */
export const STORE_CASES: DurableStoreCase[] = [
  {
    name: 'MemoryStore',
    create: async () => {
      const store = new MemoryStore();
      return { open: async () => store, cleanup: async () => undefined };
    },
  },
];
