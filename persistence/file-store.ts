import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { EMPTY_RATE_STATE, rateDecide, rateRelease, RatePolicy, type RateDecision } from '../guards/rate-limit.js';
import { approvalOrder, checkDecision } from './approval-rules.js';
import { commitOf } from './commit.js';
import { CorruptRecordError, RunExistsError, StaleLeaseError, StoreUnavailableError, UnknownApprovalError, UnknownRunError } from './errors.js';
import { sweepTemps, syncDir, writeAtomic } from './file/atomic.js';
import { CommandQueue } from './file/command-queue.js';
import { planCommit, type CommitPlan } from './file/commit-plan.js';
import { compact, needsCompaction, TRACE_CAP, traceCollector } from './file/compaction.js';
import { decode, decodeOrNull } from './file/decode.js';
import { exists, hasCode, ifExists, isSystemError, readText } from './file/io.js';
import { FileLayout, isDataFile } from './file/layout.js';
import { migrateLegacy } from './file/legacy-layout.js';
import { LockFiles, sweepHolders } from './file/lock.js';
import type { LineParts } from './file/log-line.js';
import { appendLine, readLog, writeLog, writeSummary, type LogRead } from './file/run-log.js';
import type { RunState } from './file/run-state.js';
import { readSealed } from './file/sealed-transcript.js';
import { readSlot } from './file/summary-slot.js';
import { matchesFilter, newestFirst } from './filter.js';
import { ApprovalItem, Command, JournalEntry, Lease, type QueuedCommand, RunRecord, storedRecord, TraceEntry, type ApprovalDecision, type ApprovalStatus, type RunFilter, type RunSummary } from './records.js';
import { checkRunId, RunId } from './run-id.js';
import { retirable } from './retire.js';
import type { CommitResult, Fence, LeaseRequest, RetireRequest, RetireResult, RunCommit, SnapshotStore } from './store.js';

/** Options of the embedded store. */
export interface FileStoreOptions {
  /** The store's folder; created on the first write. Default `.reins`. */
  readonly dir?: string;
  /** How often watchCommands looks for new command files, in ms. Default 100. */
  readonly pollMs?: number;
  /** How far a run's log may grow past its first line before it is compacted, in bytes (at least twice the first line). Default 1 MiB. */
  readonly compactBytes?: number;
}

/** Why a run is quarantined, written beside its log; an operator deletes it after repairing the run. */
const QuarantineMarker = z.object({ key: z.string(), detail: z.string(), at: z.number() });

/** A bucket's stored state (see guards/rate-limit.ts). */
const RateStateSchema = z.object({ tat: z.number(), holders: z.record(z.string(), z.number()) });

/** Runs whose summaries are read at once by list(): enough to overlap disk waits, few enough to stay clear of the descriptor limit. */
const LIST_CONCURRENCY = 32;
/** Runs whose state this process keeps in memory (a few KB each, mostly the record); one evicted is read again from its log when next used. */
const CACHED_RUNS = 1_024;

/**
 * The embedded default store: one folder (see file/layout.ts). Each run is a
 * log of commits: a commit appends one checksummed line and fdatasyncs once,
 * so a kill -9 at any point leaves a log whose whole lines are exactly the
 * commits that were made (a torn last line, without its newline, is not one,
 * and the next writer cuts it off; a whole line that fails its checksum is
 * corruption and quarantines the run, its bytes left as they are).
 * Processes sharing the folder take turns through a lock file per run for
 * every check-then-write (commits, leases); reads take no lock.
 * Each process keeps the state of the runs it uses in memory and reads only
 * what others appended since; a log is compacted once it has grown enough.
 */
export class FileStore implements SnapshotStore {
  /** Operations started and not settled, which close() waits for. */
  readonly #inFlight = new Set<Promise<unknown>>();
  readonly #layout: FileLayout;
  readonly #commands: CommandQueue;
  readonly #compactBytes: number;
  readonly #locks: LockFiles;
  /** The tail of each run's queue of operations from this process. */
  readonly #runQueues = new Map<string, Promise<void>>();
  /** Runs' states as last read or written by this process, least recently used first. */
  readonly #states = new Map<string, RunState>();

  constructor(options: FileStoreOptions = {}) {
    this.#layout = new FileLayout(options.dir ?? '.reins');
    this.#commands = new CommandQueue(this.#layout, options.pollMs ?? 100);
    this.#compactBytes = options.compactBytes ?? 1 << 20;
    this.#locks = new LockFiles(this.#layout.root);
  }

  /** A store whose folders exist, so that a bad path or a missing permission fails here rather than at the first write. */
  static async open(dir: string, options: Omit<FileStoreOptions, 'dir'> = {}): Promise<FileStore> {
    const store = new FileStore({ ...options, dir });
    await store.#io(async () => {
      await mkdir(store.#layout.runs, { recursive: true });
      await mkdir(store.#layout.commands, { recursive: true });
    });
    return store;
  }

  async create(record: RunRecord, lease?: LeaseRequest): Promise<Lease | null> {
    const id = checkRunId(record.summary.runId);
    const { text, valid } = storedRecord(record);
    return this.#io(async () => {
      await mkdir(this.#layout.runDir(id), { recursive: true });
      await syncDir(this.#layout.runs);
      return this.#withRun(id, async () => {
        const files = this.#layout.runFiles(id);
        // The log is the run: a directory without one is a create that crashed before it and may be reused.
        if (this.#hasRun(id)) throw new RunExistsError(id);
        // Creation is ownership: the lease is written before the log, under the run's lock, so a process that
        // lists the run (reads take no lock) and then asks for its lease finds it held; a crash in between leaves
        // a folder without a log, which is no run.
        const owned: Lease | null = lease ? { owner: lease.owner, token: 1, expiresAt: Date.now() + lease.ttlMs } : null;
        if (owned) await writeAtomic(this.#layout.lease(id), JSON.stringify(owned));
        this.#remember(id, await writeLog(files, { parts: { sealed: { bytes: 0, lastStep: -1 } }, record: { text, envelope: valid } }));
        return owned;
      });
    });
  }

  async save(record: RunRecord, fence: Fence): Promise<void> {
    await this.commit(commitOf(record.summary.runId, { record }), fence);
  }

  async commit(c: RunCommit, fence: Fence): Promise<CommitResult> {
    return { existing: (await this.#write(c, fence)).existing };
  }

  async load(runId: string): Promise<RunRecord | null> {
    const id = checkRunId(runId);
    return this.#io(async () => {
      const state = await this.#read(id);
      if (state === null) return null;
      this.#refuseQuarantined(id);
      const record = decode(RunRecord, state.recordText ?? 'null');
      if (!record.ok) throw await this.#quarantine(id, this.#layout.key(this.#layout.runFiles(id).log), record.detail, record.cause);
      return record.value;
    });
  }

  async list(filter: RunFilter = {}): Promise<RunSummary[]> {
    return this.#io(async () => {
      const ids = (await this.#runIds()).filter((name) => RunId.safeParse(name).success);
      const summaries: RunSummary[] = [];
      for (let i = 0; i < ids.length; i += LIST_CONCURRENCY) {
        for (const s of await Promise.all(ids.slice(i, i + LIST_CONCURRENCY).map((id) => this.#summary(id)))) {
          if (s && matchesFilter(s, filter)) summaries.push(s);
        }
      }
      return newestFirst(summaries).slice(0, filter.limit);
    });
  }

  async delete(runId: string): Promise<void> {
    const id = checkRunId(runId);
    await this.#io(async () => {
      let trash: string | null = null;
      try {
        trash = await this.#locks.with(this.#layout.lock(id), () => this.#trashRun(id));
      } catch (err) {
        if (!hasCode(err, 'ENOENT')) throw err;
      }
      await this.#emptyTrash(id, trash);
    });
  }

  async retire(request: RetireRequest): Promise<RetireResult> {
    const id = checkRunId(request.runId);
    return this.#io(async () => {
      let trash: string | null = null;
      const result = await this.#withRun(id, async (): Promise<RetireResult> => {
        let traced = 0;
        const read = readLog(this.#layout.runFiles(id).log, null, { cut: true, each: (parts) => (traced += parts.trace?.length ?? 0) });
        const state = await this.#settle(id, read);
        if (state?.summary == null || exists(this.#layout.quarantine(id)) || !retirable(state.summary, request.updatedBefore)) return 'ineligible';
        if (request.action === 'delete') {
          if (!request.dryRun) trash = await this.#trashRun(id);
          return 'deleted';
        }
        if (traced === 0) return 'no-trace';
        // The log is rewritten as one line without its trace, the way a compaction rewrites it: atomically, under the lock.
        if (!request.dryRun) await this.#settle(id, await compact(this.#layout.runFiles(id), { dropTrace: true }));
        return 'trace-dropped';
      }).catch((err: unknown) => {
        // Gone, or found damaged just now (and quarantined by the read): either way not retention's to touch.
        if (err instanceof UnknownRunError || err instanceof CorruptRecordError) return 'ineligible' as const;
        throw err;
      });
      await this.#emptyTrash(id, trash);
      return result;
    });
  }

  async purge(olderThan: number): Promise<number> {
    const old = (await this.list({ status: 'done' })).filter((s) => s.updatedAt < olderThan);
    for (const s of old) await this.delete(s.runId);
    await this.#io(async () => {
      // Deletions a crash interrupted, and the lock holder files of processes that are gone.
      for (const name of await this.#runIds()) {
        if (name.startsWith('.deleted-')) await rm(join(this.#layout.runs, name), { recursive: true, force: true });
      }
      sweepHolders(this.#layout.root);
    });
    return old.length;
  }

  async acquireLease(runId: string, owner: string, ttlMs: number): Promise<Lease | null> {
    const id = checkRunId(runId);
    return this.#io(() =>
      this.#withRun(id, async () => {
        this.#mustExist(id);
        const now = Date.now();
        const current = await this.#readLease(id);
        if (current && current.owner !== owner && current.expiresAt > now) return null;
        // Whoever takes the run may be taking over from a writer that crashed mid-write (itself, restarted): clear what it left.
        await sweepTemps(this.#layout.runDir(id));
        // A new holding, even by the same owner: the token grows, fencing out any earlier holder (see MemoryStore).
        const lease: Lease = { owner, token: (current?.token ?? 0) + 1, expiresAt: now + ttlMs };
        await writeAtomic(this.#layout.lease(id), JSON.stringify(lease));
        return lease;
      }),
    );
  }

  async renewLease(runId: string, lease: Lease, ttlMs: number): Promise<Lease | null> {
    const id = checkRunId(runId);
    return this.#io(() =>
      this.#withRun(id, async () => {
        this.#mustExist(id);
        const current = await this.#readLease(id);
        // A released lease (expiresAt 0) stays released: a renewal answered after the release must not revive it.
        if (current?.token !== lease.token || current.owner !== lease.owner || current.expiresAt === 0) return null;
        const renewed: Lease = { ...current, expiresAt: Date.now() + ttlMs };
        await writeAtomic(this.#layout.lease(id), JSON.stringify(renewed));
        return renewed;
      }),
    );
  }

  async releaseLease(runId: string, lease: Lease): Promise<void> {
    const id = checkRunId(runId);
    await this.#io(() =>
      this.#withRun(id, async () => {
        this.#mustExist(id);
        const current = await this.#readLease(id);
        // The token stays in the file: the next holder's must be higher.
        if (current?.token === lease.token) await writeAtomic(this.#layout.lease(id), JSON.stringify({ ...current, expiresAt: 0 }));
      }),
    ).catch((err: unknown) => {
      if (!(err instanceof UnknownRunError)) throw err;
    });
  }

  async readLease(runId: string): Promise<Lease | null> {
    const id = checkRunId(runId);
    return this.#io(() => this.#readLease(id));
  }

  async journalStart(runId: string, key: string, step: number, fence: Fence): Promise<JournalEntry | null> {
    return (await this.commit(commitOf(runId, { journalStart: { key, step } }), fence)).existing;
  }

  async journalDone(runId: string, key: string, step: number, result: unknown, fence: Fence): Promise<void> {
    await this.commit(commitOf(runId, { journalDone: [{ key, step, result }] }), fence);
  }

  async journalGet(runId: string, key: string): Promise<JournalEntry | null> {
    const id = checkRunId(runId);
    return this.#io(async () => (await this.#read(id))?.entry(key) ?? null);
  }

  async journalTrim(runId: string, belowStep: number, fence: Fence): Promise<void> {
    await this.commit(commitOf(runId, { trimBelow: belowStep }), fence);
  }

  async transcriptAppend(runId: string, step: number, messages: readonly unknown[], fence: Fence): Promise<void> {
    await this.commit(commitOf(runId, { transcript: [{ step, messages }] }), fence);
  }

  async transcriptRead(runId: string): Promise<unknown[]> {
    const id = checkRunId(runId);
    const logged: unknown[] = [];
    const state = await this.#scan(id, (parts) => {
      for (const { messages } of parts.transcript ?? []) logged.push(...messages);
    });
    return state === null ? [] : [...(await this.#io(() => readSealed(this.#layout.runFiles(id).transcript, state.sealed.bytes))), ...logged];
  }

  async traceAppend(runId: string, entries: readonly TraceEntry[]): Promise<void> {
    await this.#write(commitOf(runId, { trace: entries }), null);
  }

  async traceRead(runId: string, limit = TRACE_CAP): Promise<TraceEntry[]> {
    const id = checkRunId(runId);
    if (limit <= 0) return [];
    const trace = traceCollector();
    await this.#scan(id, trace.each);
    return trace.entries().slice(-limit);
  }

  async sendCommand(runId: string, command: Command): Promise<void> {
    const id = checkRunId(runId);
    const valid = Command.parse(command);
    await this.#io(async () => {
      this.#mustExist(id);
      await mkdir(this.#layout.commands, { recursive: true });
      await this.#commands.send(id, valid);
    });
  }

  async peekCommands(runId: string): Promise<QueuedCommand[]> {
    const id = checkRunId(runId);
    return this.#io(() =>
      this.#commands.peek(
        id,
        (path, text) => this.#decode(id, path, text, Command),
        async () => (await this.#read(id))?.acked ?? new Set(),
      ),
    );
  }

  async watchCommands(listener: (runId: string) => void): Promise<() => Promise<void>> {
    return this.#commands.watch(listener);
  }

  /** Stops watching for commands and waits for the operations in flight: a closed store writes nothing afterwards. */
  async close(): Promise<void> {
    await this.#commands.close();
    await Promise.allSettled([...this.#inFlight]);
  }

  async approvalPut(item: ApprovalItem): Promise<void> {
    const valid = ApprovalItem.parse(item);
    await this.#io(async () => {
      await mkdir(this.#layout.approvals, { recursive: true });
      await this.#locks.with(this.#layout.approvalsLock(), async () => {
        if (!exists(this.#layout.approval(valid.itemId))) await writeAtomic(this.#layout.approval(valid.itemId), JSON.stringify(valid));
      });
    });
  }

  async approvalList(filter: { status?: ApprovalStatus; limit?: number } = {}): Promise<ApprovalItem[]> {
    return this.#io(async () => {
      const names = ((await ifExists(readdir(this.#layout.approvals))) ?? []).filter(isDataFile);
      const items: ApprovalItem[] = [];
      for (const name of names) {
        const text = readText(join(this.#layout.approvals, name));
        const item = text === null ? null : decodeOrNull(ApprovalItem, text);
        if (item && (filter.status === undefined || item.status === filter.status)) items.push(item);
      }
      return items.sort(approvalOrder).slice(0, filter.limit);
    });
  }

  async approvalGet(itemId: string): Promise<ApprovalItem | null> {
    return this.#io(async () => this.#readApproval(itemId));
  }

  async approvalDecide(itemId: string, decision: ApprovalDecision): Promise<ApprovalItem> {
    return this.#io(async () => {
      await mkdir(this.#layout.approvals, { recursive: true });
      return this.#locks.with(this.#layout.approvalsLock(), async () => {
        const item = this.#readApproval(itemId);
        if (!item) throw new UnknownApprovalError(itemId);
        const decided = checkDecision(item, decision);
        await writeAtomic(this.#layout.approval(itemId), JSON.stringify(decided));
        return decided;
      });
    });
  }

  async rateAcquire(key: string, policy: RatePolicy, holder: string): Promise<RateDecision> {
    const valid = RatePolicy.parse(policy);
    return this.#io(async () => {
      await mkdir(this.#layout.rates, { recursive: true });
      return this.#locks.with(this.#layout.rateLock(key), async () => {
        const text = readText(this.#layout.rate(key));
        const state = (text === null ? null : decodeOrNull(RateStateSchema, text)) ?? EMPTY_RATE_STATE;
        const { decision, state: next } = rateDecide(state, valid, holder, Date.now());
        await writeAtomic(this.#layout.rate(key), JSON.stringify(next));
        return decision;
      });
    });
  }

  async rateRelease(key: string, holder: string): Promise<void> {
    await this.#io(async () => {
      await mkdir(this.#layout.rates, { recursive: true });
      await this.#locks.with(this.#layout.rateLock(key), async () => {
        const text = readText(this.#layout.rate(key));
        const state = text === null ? null : decodeOrNull(RateStateSchema, text);
        if (state) await writeAtomic(this.#layout.rate(key), JSON.stringify(rateRelease(state, holder)));
      });
    });
  }

  #readApproval(itemId: string): ApprovalItem | null {
    const text = readText(this.#layout.approval(itemId));
    if (text === null) return null;
    const decoded = decode(ApprovalItem, text);
    if (!decoded.ok) throw new CorruptRecordError(itemId, this.#layout.key(this.#layout.approval(itemId)), decoded.detail);
    return decoded.value;
  }

  /**
   * One commit, fenced when `fence` is given (trace appends and trims are
   * not, as in every store): checked against the run's state under its lock,
   * then one line appended and synced. A refused commit writes nothing.
   */
  async #write(c: RunCommit, fence: Fence | null): Promise<CommitPlan> {
    const id = checkRunId(c.runId);
    return this.#io(() =>
      this.#withRun(id, async (unlock) => {
        const state = await this.#current(id);
        if (state === null) throw new UnknownRunError(id);
        this.#refuseQuarantined(id);
        if (fence) {
          const lease = await this.#readLease(id);
          if (lease?.token !== fence.leaseToken) throw new StaleLeaseError(id, fence.leaseToken, lease?.token ?? null);
        }
        const plan = planCommit(state, c, Date.now(), fence?.leaseToken);
        if (plan.line === null) return plan;
        const files = this.#layout.runFiles(id);
        // A long log is compacted before the commit that would grow it further: that one commit waits, nothing runs behind a caller's back.
        const target = needsCompaction(state, this.#compactBytes) ? await this.#settle(id, await compact(files)) : state;
        if (target === null) throw new UnknownRunError(id);
        try {
          await appendLine(files, target, plan.line, unlock);
        } catch (err) {
          // The state took the line before the sync that failed: it is read afresh next time.
          this.#states.delete(id);
          throw err;
        }
        // The line records them acknowledged: their files are leftovers now (a crash here leaves them, and reads skip them).
        this.#commands.remove(id, plan.line.parts.commands ?? []);
        return plan;
      }),
    );
  }

  /** Renames the run's folder away (the caller holds its lock): readers see the whole run or nothing, and a crash leaves a ".deleted-" folder for purge. */
  async #trashRun(id: string): Promise<string> {
    const to = this.#layout.trash(id);
    await rename(this.#layout.runDir(id), to);
    return to;
  }

  /** Forgets a deleted run and removes what #trashRun moved away (null: nothing was). */
  async #emptyTrash(id: string, trash: string | null): Promise<void> {
    this.#states.delete(id);
    await this.#commands.drop(id);
    if (trash === null) return;
    await syncDir(this.#layout.runs);
    await rm(trash, { recursive: true, force: true });
  }

  /** The run's state brought up to date under its lock (the caller holds it): a torn tail is cut off, a run of the previous layout moved into a log. */
  async #current(id: string): Promise<RunState | null> {
    const files = this.#layout.runFiles(id);
    const read = readLog(files.log, this.#states.get(id) ?? null, { cut: true });
    return this.#settle(id, read.kind === 'missing' ? await migrateLegacy(this.#layout.runDir(id), files) : read);
  }

  /** The run's state brought up to date without the lock, as a reader. */
  async #read(id: string): Promise<RunState | null> {
    const read = readLog(this.#layout.runFiles(id).log, this.#states.get(id) ?? null);
    if (read.kind === 'read' || (read.kind === 'missing' && !exists(this.#layout.legacyRecord(id)))) return this.#settle(id, read);
    // What looks damaged may be a writer's cut and append seen half-done, and a run of the previous layout is
    // moved into a log: both under the lock.
    return this.#withRun(id, () => this.#current(id)).catch((err: unknown) => {
      if (err instanceof UnknownRunError) return null;
      throw err;
    });
  }

  /** Reads the whole log under the run's lock, showing `each` every line (trace and transcript reads); null when there is no run. */
  async #scan(id: string, each: (parts: LineParts) => void): Promise<RunState | null> {
    return this.#io(() => this.#withRun(id, async () => this.#settle(id, readLog(this.#layout.runFiles(id).log, null, { cut: true, each })))).catch((err: unknown) => {
      if (err instanceof UnknownRunError) return null;
      throw err;
    });
  }

  /** Keeps what a read found: the state is remembered, a missing log forgets the run, a damaged one quarantines it. */
  async #settle(id: string, read: LogRead): Promise<RunState | null> {
    if (read.kind === 'read') {
      this.#remember(id, read.state);
      return read.state;
    }
    this.#states.delete(id);
    if (read.kind === 'missing') return null;
    throw await this.#quarantine(id, this.#layout.key(read.path), read.detail);
  }

  #remember(id: string, state: RunState): void {
    this.#states.delete(id);
    this.#states.set(id, state);
    if (this.#states.size > CACHED_RUNS) this.#states.delete(this.#states.keys().next().value!);
  }

  #mustExist(id: string): void {
    if (!this.#hasRun(id)) throw new UnknownRunError(id);
  }

  #hasRun(id: string): boolean {
    return exists(this.#layout.runFiles(id).log) || exists(this.#layout.legacyRecord(id));
  }

  /** Throws while the run is quarantined, even if its bytes have since become readable: an operator lifts it by deleting the marker. */
  #refuseQuarantined(id: string): void {
    // Asked first without reading: on every commit, and a read of a missing file costs an exception.
    if (!exists(this.#layout.quarantine(id))) return;
    const marker = readText(this.#layout.quarantine(id));
    if (marker === null) return;
    const why = decode(QuarantineMarker, marker);
    throw new CorruptRecordError(id, why.ok ? why.value.key : this.#layout.key(this.#layout.quarantine(id)), why.ok ? why.value.detail : 'quarantine marker present');
  }

  /** Marks the run quarantined (once) and returns the error to throw; the bytes at fault are left as they are. */
  async #quarantine(id: string, key: string, detail: string, cause?: unknown): Promise<CorruptRecordError> {
    const marker = this.#layout.quarantine(id);
    if (!exists(marker)) {
      // Best effort: the corruption is the error to report, and list() sees an unreadable log as quarantined without the marker.
      await writeAtomic(marker, JSON.stringify({ key, detail, at: Date.now() })).catch(() => undefined);
    }
    return new CorruptRecordError(id, key, detail, { cause });
  }

  /** Runs `op`, turning operating-system failures (disk full, permission, I/O error) into StoreUnavailableError. */
  async #io<T>(op: () => Promise<T>): Promise<T> {
    const running = op();
    this.#inFlight.add(running);
    try {
      return await running;
    } catch (err) {
      if (isSystemError(err)) throw new StoreUnavailableError(`file store ${this.#layout.root}: ${err.message}`, { cause: err });
      throw err;
    } finally {
      this.#inFlight.delete(running);
    }
  }

  /** Runs `fn` holding the run's lock (it may let go early, see withLock); UnknownRunError when the run has no directory. */
  async #withRun<T>(runId: string, fn: (unlock: () => void) => Promise<T>): Promise<T> {
    // Operations of this process on one run queue here in order, so the lock file's polling retry only ever
    // waits for another process: a run's commit and its next one never spin against each other. An operation
    // leaves the queue when it is done, not when it lets the lock go: the next commit starts after this one's sync.
    const previous = this.#runQueues.get(runId) ?? Promise.resolve();
    const mine = previous.then(() => this.#lockedRun(runId, fn));
    const settled = mine.then(
      () => undefined,
      () => undefined,
    );
    this.#runQueues.set(runId, settled);
    void settled.then(() => {
      if (this.#runQueues.get(runId) === settled) this.#runQueues.delete(runId);
    });
    return mine;
  }

  async #lockedRun<T>(runId: string, fn: (unlock: () => void) => Promise<T>): Promise<T> {
    try {
      return await this.#locks.with(this.#layout.lock(runId), fn);
    } catch (err) {
      // No directory to put the lock in: the run was never created, or was deleted meanwhile.
      if (hasCode(err, 'ENOENT')) throw new UnknownRunError(runId);
      throw err;
    }
  }

  async #runIds(): Promise<string[]> {
    return (await ifExists(readdir(this.#layout.runs))) ?? [];
  }

  async #readLease(runId: string): Promise<Lease | null> {
    const path = this.#layout.lease(runId);
    const text = readText(path);
    return text === null ? null : this.#decode(runId, path, text, Lease);
  }

  /** Validates stored text; on failure marks the run quarantined and throws CorruptRecordError, leaving the bytes as they are. */
  async #decode<T>(runId: string, path: string, text: string, schema: z.ZodType<T>): Promise<T> {
    const decoded = decode(schema, text);
    if (decoded.ok) return decoded.value;
    throw await this.#quarantine(runId, this.#layout.key(path), decoded.detail, decoded.cause);
  }

  /**
   * The run's summary for list(): the slot beside its log while it matches
   * the log, else (a crash or a writer came between the two) read from the
   * log under the run's lock, which also rewrites the slot. Null when there is
   * no run; status 'quarantined' when marked or unreadable.
   */
  async #summary(id: string): Promise<RunSummary | null> {
    const files = this.#layout.runFiles(id);
    const st = await ifExists(stat(files.log));
    if (st === null) return exists(this.#layout.legacyRecord(id)) ? this.#summaryFromLog(id, Date.now()) : null;
    const summary = (await readSlot(files.summary, st.ino, st.size)) ?? (await this.#summaryFromLog(id, st.mtimeMs));
    return summary && exists(this.#layout.quarantine(id)) ? { ...summary, status: 'quarantined' } : summary;
  }

  async #summaryFromLog(id: string, mtimeMs: number): Promise<RunSummary | null> {
    try {
      return await this.#withRun(id, async () => {
        const state = await this.#current(id);
        if (state) writeSummary(this.#layout.runFiles(id), state);
        return state?.summary ?? null;
      });
    } catch (err) {
      if (err instanceof CorruptRecordError) return unreadable(id, mtimeMs);
      if (err instanceof UnknownRunError) return null;
      throw err;
    }
  }
}

/** What list() can say about a run whose log does not read: its id, and that it is quarantined. */
function unreadable(runId: string, mtimeMs: number): RunSummary {
  const at = Math.floor(mtimeMs);
  return { runId, agentId: 'unknown', parentId: null, status: 'quarantined', state: 'unknown', step: 0, turns: 0, activeTool: null, costUsd: 0, reason: null, createdAt: at, updatedAt: at };
}
