/**
 * What the crash-test parent and its worker children (test/crash/worker.ts)
 * say to each other over the IPC channel. Plain JSON, no reins types, so
 * that both sides agree on it without importing the runtime.
 */

/** Where a worker's SnapshotStore lives. */
export type StoreSpec =
  | { readonly kind: 'redis'; readonly url: string; readonly prefix: string }
  | { readonly kind: 'file'; readonly dir: string };

/** Where the side-effect ledger of the crash agents' tools lives (the "external system"). */
export type EffectsSpec =
  | { readonly kind: 'redis'; readonly url: string; readonly key: string }
  | { readonly kind: 'file'; readonly dir: string };

/** How a worker is started (argv[2], JSON). */
export interface WorkerConfig {
  readonly store: StoreSpec;
  readonly effects: EffectsSpec;
  readonly leaseMs: number;
  /** More stores this worker hosts runs on at the same time (random-kill trials); calls use `store`. */
  readonly also?: ReadonlyArray<{ readonly store: StoreSpec; readonly effects: EffectsSpec; readonly jitterMs?: number }>;
  /** Seeds the tools' and the model's latency jitter. */
  readonly seed: number;
  readonly workerId?: string;
  /** Report every fenced store write (and lease renewal) with its result, as `write` messages. */
  readonly reportWrites?: boolean;
  /** The slow tool's duration in the lease test agents. */
  readonly slowMs?: number;
  /** The Supervisor's write-retry policy (when the run writer gives up waiting and pauses the run). */
  readonly writeRetry?: { readonly baseDelayMs: number; readonly maxDelayMs: number; readonly stallAfter: number };
  /** With reportWrites: every snapshot save waits this long before it goes out (a slow link to the store). */
  readonly saveLatencyMs?: number;
  /** Upper bound of each jittered tool and model wait (default 12 ms). */
  readonly jitterMs?: number;
  /** A commit that acknowledges queued commands never reaches the store: the worker reports `holding` and waits to be killed. */
  readonly holdCommandAcks?: boolean;
}

/** Where a worker kills itself: before or after the n-th I/O operation (a Redis command, or a FileStore call) on one of its stores, counted from `go`. */
export interface CrashPoint {
  readonly op: number;
  readonly when: 'before' | 'after';
  /** Which store's operations count: an index into [config.store, ...config.also] (default 0). */
  readonly store?: number;
}

/** The parent's go-ahead for a pre-spawned crash worker. */
export interface GoMessage {
  readonly type: 'go';
  /** New runs to start, in order; `store` indexes [config.store, ...config.also] (default 0). */
  readonly start: ReadonlyArray<{ readonly runId: string; readonly agentId: string; readonly store?: number }>;
  /** Call recover() this often (and once at once), serialised. */
  readonly recoverEveryMs: number;
  readonly crashAt: CrashPoint | null;
}

/** A request to a worker; answered by a `reply` with the same id. */
export interface CallMessage {
  readonly type: 'call';
  readonly id: number;
  readonly method: 'start' | 'recover' | 'resume' | 'pause' | 'kill' | 'close' | 'hosted';
  readonly args: readonly unknown[];
}

/** Everything a worker sends. */
export type WorkerMessage =
  | { readonly type: 'ready'; readonly workerId: string; readonly pid: number }
  | { readonly type: 'started'; readonly runId: string }
  | { readonly type: 'recovered'; readonly runIds: readonly string[] }
  | { readonly type: 'outcome'; readonly runId: string; readonly outcome: unknown }
  | { readonly type: 'write'; readonly op: string; readonly runId: string; readonly token: number | null; readonly version: number | null; readonly ok: boolean; readonly error: string | null; readonly at: number; readonly doneAt: number; readonly value?: unknown }
  | { readonly type: 'reply'; readonly id: number; readonly ok: boolean; readonly value?: unknown; readonly error?: string }
  | { readonly type: 'holding'; readonly runId: string; readonly commands: readonly string[] }
  | { readonly type: 'error'; readonly message: string };
