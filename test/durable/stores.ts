import { inject } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileStore } from '../../persistence/file-store.js';
import { MemoryStore } from '../../persistence/memory-store.js';
import { RedisStore } from '../../persistence/redis-store.js';
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
  {
    name: 'FileStore',
    create: async () => {
      const dir = await mkdtemp(join(tmpdir(), 'reins-durable-'));
      const opened: FileStore[] = [];
      return {
        open: async () => {
          const store = new FileStore({ dir });
          opened.push(store);
          return store;
        },
        cleanup: async () => {
          await Promise.all(opened.map((s) => s.close()));
          await rm(dir, { recursive: true, force: true });
        },
      };
    },
  },
  {
    name: 'RedisStore',
    create: async () => {
      // A fresh prefix per case: runs, index and purges of one test never meet another's.
      const prefix = `d${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
      const opened: RedisStore[] = [];
      return {
        open: async () => {
          const store = new RedisStore({ url: inject('redisUrl'), prefix });
          opened.push(store);
          return store;
        },
        cleanup: async () => {
          await Promise.all(opened.map((s) => s.close()));
        },
      };
    },
  },
];
