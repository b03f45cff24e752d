import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryStore } from '../../persistence/memory-store.js';
import { RedisStore } from '../../persistence/redis-store.js';
import type { SnapshotStore } from '../../persistence/store.js';
import type { StoreKit } from '../contenders/reins.js';
import { writtenChars } from './proc-io.js';
import type { BenchRedis } from './redis.js';

/** MemoryStore: nothing leaves the process. */
export function memoryKit(): StoreKit {
  return {
    name: 'memory',
    label: 'MemoryStore',
    async open() {
      return new MemoryStore();
    },
    async physicalBytes() {
      return null;
    },
    async operations() {
      return null;
    },
    async dispose() {},
  };
}

type FileStoreClass = { open(dir: string): Promise<SnapshotStore> };

/** FileStore, when this checkout has it: a folder in the temp dir (same disk as the rest), every write fsynced by the store. */
export async function fileKit(): Promise<StoreKit | { missing: string }> {
  let FileStore: FileStoreClass;
  try {
    // Loaded lazily: FileStore may not be in every checkout the bench runs in.
    ({ FileStore } = (await import('../../persistence/file-store.js')) as { FileStore: FileStoreClass });
  } catch (error) {
    return { missing: `FileStore could not be loaded (${(error as Error).message.split('\n')[0]})` };
  }
  let dir: string | null = null;
  return {
    name: 'file',
    label: 'FileStore',
    async open() {
      dir = await mkdtemp(join(tmpdir(), 'reins-bench-file-'));
      return FileStore.open(dir);
    },
    async physicalBytes() {
      return writtenChars();
    },
    async operations() {
      return null;
    },
    async dispose() {
      if (dir) await rm(dir, { recursive: true, force: true });
    },
  };
}

/** RedisStore on the bench's private redis-server; physical bytes are what the server read off the wire. */
export function redisKit(redis: BenchRedis, prefix = 'bench'): StoreKit {
  return {
    name: 'redis',
    label: 'RedisStore',
    async open() {
      return RedisStore.connect(redis.server.url, { prefix });
    },
    physicalBytes() {
      return redis.netInputBytes();
    },
    async operations() {
      return redis.commandsSent();
    },
    async dispose() {},
  };
}
