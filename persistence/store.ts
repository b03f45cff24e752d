import type { ApprovalDecision, ApprovalItem, ApprovalStatus, Command, JournalEntry, Lease, QueuedCommand, RateDecision, RatePolicy, RunFilter, RunRecord, RunSummary, TraceEntry } from './records.js';

/**
 * Everything one run's writer has queued since its last write, handed to the
 * store at once: a turn costs one store operation (one Redis script, one
 * file-log append) instead of one per part. Parts apply in this order, and
 * a store applies them all or none, so a call's result is durable no later
 * than the snapshot that moved past it, and the snapshot no later than the
 * `started` of the call it is about to make.
 */
export interface RunCommit {
  readonly runId: string;
  /** 1. Model steps' messages, each step appended once (a repeated step is ignored). */
  readonly transcript: readonly { readonly step: number; readonly messages: readonly unknown[] }[];
  /** 2. Results of finished calls (a key already `done` keeps its first result). */
  readonly journalDone: readonly { readonly key: string; readonly step: number; readonly result: unknown }[];
  /** 3. The run's record, compare-and-set on its version as in `save`; null when the snapshot did not change. */
  readonly record: RunRecord | null;
  /** 4. Trace entries. */
  readonly trace: readonly TraceEntry[];
  /** 5. `started` for the call about to begin, unless its key already has an entry (returned in the result). */
  readonly journalStart: JournalStart | null;
  /** 6. Drops journal entries of steps below this one (the record has moved past them). */
  readonly trimBelow: number | null;
  /**
   * 7. Removes these queued commands (ids from peekCommands): the record of
   * this commit holds their effect. A command leaves the queue only with the
   * write that makes its effect durable, so a crash in between re-applies it.
   */
  readonly ackCommands: readonly string[];
}

/** A call's checkpoint: its journal key and step, and the window in which it may still be running (see JournalEntry). */
export interface JournalStart {
  readonly key: string;
  readonly step: number;
  readonly window?: CallWindow;
}

/** When a started call's owner can no longer be running it: its lease expiry plus the call's timeout. */
export interface CallWindow {
  readonly leaseExpiresAt: number;
  readonly timeoutMs: number;
}

/** Who a new run is leased to from its first write: creation is ownership. */
export interface LeaseRequest {
  readonly owner: string;
  readonly ttlMs: number;
}

/** What a commit found: the existing entry of its `journalStart` key, or null when it recorded `started` (or asked for none). */
export interface CommitResult {
  readonly existing: JournalEntry | null;
}

/** What retention asks of one run (see SnapshotStore.retire). */
export interface RetireRequest {
  readonly runId: string;
  /** `delete`: the run and everything beside it; `drop-trace`: its trace only (record, transcript and journal stay). */
  readonly action: 'delete' | 'drop-trace';
  /** Acts only on a run that is done, not quarantined, and was last updated before this (epoch ms). */
  readonly updatedBefore: number;
  /** Answers what it would do, changing nothing. */
  readonly dryRun?: boolean;
}

/**
 * What `retire` did (or, dry, would do): `no-trace` when a run that may lose
 * its trace has none left; `ineligible` when the run is not done, is newer
 * than the cut-off, is quarantined, or is gone.
 */
export type RetireResult = 'deleted' | 'trace-dropped' | 'no-trace' | 'ineligible';

/** The proof a writer still owns the run: the token of its current lease. */
export interface Fence {
  readonly leaseToken: number;
}

/**
 * Everything the supervisor persists, behind one interface that MemoryStore,
 * FileStore and RedisStore implement and one conformance suite checks.
 *
 * Rules every store keeps:
 * - `save` is compare-and-set: the record's version must be the stored one
 *   plus one, and the fence's token the run's current lease token; otherwise
 *   StaleVersionError / StaleLeaseError and nothing is written.
 * - Writes that can start or finish an external call (journal, transcript)
 *   are fenced the same way, so a worker that lost its lease cannot act.
 * - Reads validate with zod; a record that does not parse raises
 *   CorruptRecordError naming the run and key, marks the run quarantined,
 *   and leaves the stored bytes as they were.
 */
export interface SnapshotStore {
  /**
   * Stores a new run at version 1, already leased to `lease.owner` in the same
   * operation, so no other process ever sees it unowned; returns that lease.
   * Without `lease` the run is stored unowned (a dispatcher's submit: the
   * worker that takes its job leases it) and null is returned.
   * RunExistsError if the id is taken.
   */
  create(record: RunRecord, lease?: LeaseRequest): Promise<Lease | null>;
  /** Compare-and-set save (see above). */
  save(record: RunRecord, fence: Fence): Promise<void>;
  /**
   * Applies a run's queued writes, fenced and in order (see RunCommit), all
   * or nothing: one Redis script, one appended line of a FileStore run log. A
   * refused fence or version writes nothing.
   */
  commit(commit: RunCommit, fence: Fence): Promise<CommitResult>;
  /** The run, or null when the store has no such run. */
  load(runId: string): Promise<RunRecord | null>;
  /** Summaries of matching runs, most recently updated first. */
  list(filter?: RunFilter): Promise<RunSummary[]>;
  /** Removes a run and everything beside it (retention). */
  delete(runId: string): Promise<void>;
  /** Deletes terminal runs last updated before `olderThan` (epoch ms); returns how many. */
  purge(olderThan: number): Promise<number>;
  /**
   * One retention step on one run, decided against the run as stored at that
   * moment, in one store operation (one Lua script, one step under the run's
   * lock): a run that changed, or was quarantined, since it was listed is
   * left alone.
   */
  retire(request: RetireRequest): Promise<RetireResult>;

  /**
   * Takes the run's lease if it is free, expired, or already this owner's; null when another owner holds it.
   * Each acquisition gets a higher token than any before, even for the same owner, so it fences out every
   * earlier holding.
   */
  acquireLease(runId: string, owner: string, ttlMs: number): Promise<Lease | null>;
  /** Extends a lease this owner still holds; null when its token is no longer current. */
  renewLease(runId: string, lease: Lease, ttlMs: number): Promise<Lease | null>;
  /** Gives a lease up (its token stays spent: the next holder gets a higher one). */
  releaseLease(runId: string, lease: Lease): Promise<void>;
  /** The run's lease as stored, expired or not. */
  readLease(runId: string): Promise<Lease | null>;

  /** Records `started` unless the key already has an entry; returns the existing entry, or null when this call recorded it. */
  journalStart(runId: string, key: string, step: number, fence: Fence): Promise<JournalEntry | null>;
  /** Records `done` with the call's result. */
  journalDone(runId: string, key: string, step: number, result: unknown, fence: Fence): Promise<void>;
  /** The entry for one idempotency key. */
  journalGet(runId: string, key: string): Promise<JournalEntry | null>;
  /** Drops entries of steps below `step`: the persisted snapshot has moved past them (a commit with only `trimBelow`). */
  journalTrim(runId: string, belowStep: number, fence: Fence): Promise<void>;

  /** Appends one model step's messages exactly once (a repeated step is ignored). */
  transcriptAppend(runId: string, step: number, messages: readonly unknown[], fence: Fence): Promise<void>;
  /** The whole transcript, oldest first. */
  transcriptRead(runId: string): Promise<unknown[]>;

  /** Appends to the run's trace (capped by the store; oldest entries go first). */
  traceAppend(runId: string, entries: readonly TraceEntry[]): Promise<void>;
  /** The most recent `limit` trace entries, oldest first. */
  traceRead(runId: string, limit?: number): Promise<TraceEntry[]>;

  /** Queues an operator command for the run and notifies watchers. */
  sendCommand(runId: string, command: Command): Promise<void>;
  /**
   * The run's queued commands, oldest first, without removing them: each
   * stays queued until a commit acknowledges its id (RunCommit.ackCommands).
   */
  peekCommands(runId: string): Promise<QueuedCommand[]>;
  /** Calls `listener` with a run id whenever a command is queued for it (from any process); returns the unsubscribe. */
  watchCommands(listener: (runId: string) => void): Promise<() => Promise<void>>;

  /** Queues an approval request; a second put of the same item id keeps the first. */
  approvalPut(item: ApprovalItem): Promise<void>;
  /** Items by status, most urgent first: highest priority, then oldest request. */
  approvalList(filter?: { status?: ApprovalStatus; limit?: number }): Promise<ApprovalItem[]>;
  approvalGet(itemId: string): Promise<ApprovalItem | null>;
  /**
   * Decides a pending item (compare-and-set on its status): ApprovalNotPendingError
   * when it was already decided, ApprovalExpiredError when an approve or reject
   * comes after its deadline, so nobody approves a stale action.
   */
  approvalDecide(itemId: string, decision: ApprovalDecision): Promise<ApprovalItem>;

  /**
   * Takes one token from the bucket `key` (shared by every run and worker on
   * this store) and, when the policy caps concurrency, a slot held by `holder`.
   */
  rateAcquire(key: string, policy: RatePolicy, holder: string): Promise<RateDecision>;
  /** Gives back the concurrency slot `holder` holds on `key` (tokens are spent, never returned). */
  rateRelease(key: string, holder: string): Promise<void>;

  /** Releases connections and timers. */
  close(): Promise<void>;
}
