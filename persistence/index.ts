// reins/persistence: the SnapshotStore contract, MemoryStore and FileStore. RedisStore is reins/redis, so that
// importing this entry point never loads ioredis.
export type { SnapshotStore, Fence, RetireRequest, RetireResult } from './store.js';
export * from './records.js';
export * from './errors.js';
export { RunId, checkRunId, InvalidRunIdError } from './run-id.js';
export { MemoryStore } from './memory-store.js';
export { FileStore, type FileStoreOptions } from './file-store.js';
export type { TranscriptStore } from './transcript.js';
