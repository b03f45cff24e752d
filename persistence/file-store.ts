import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { EMPTY_RATE_STATE, rateDecide, rateRelease, RatePolicy, type RateDecision } from '../guards/rate-limit.js';
import { approvalOrder, checkDecision } from './approval-rules.js';
import { CorruptRecordError, RunExistsError, StaleLeaseError, StaleVersionError, StoreUnavailableError, UnknownApprovalError, UnknownRunError } from './errors.js';
import { writeAtomic, sweepTemps, syncDir } from './file/atomic.js';
import { CommandQueue } from './file/command-queue.js';
import { decode, decodeOrNull } from './file/decode.js';
import { exists, hasCode, ifExists, isSystemError, readText, removeFile } from './file/io.js';
import { FileLayout, isDataFile } from './file/layout.js';
import { withLock } from './file/lock.js';
import { appendTrace, readTrace, TRACE_CAP } from './file/trace-log.js';
import { appendTranscript, readTranscript } from './file/transcript-log.js';
import { matchesFilter, newestFirst } from './filter.js';
import { ApprovalItem, Command, JournalEntry, Lease, RunRecord, TraceEntry, type ApprovalDecision, type ApprovalStatus, type RunFilter, type RunSummary } from './records.js';
import { checkRunId, RunId } from './run-id.js';
import type { Fence, SnapshotStore } from './store.js';

/** Options of the embedded store. */
export interface FileStoreOptions {
  /** The store's folder; created on the first write. Default `.reins`. */
  readonly dir?: string;
  /** How often watchCommands looks for new command files, in ms. Default 100. */
  readonly pollMs?: number;
}

/** Why a run is quarantined, written beside its record; an operator deletes it after repairing the run. */
const QuarantineMarker = z.object({ key: z.string(), detail: z.string(), at: z.number() });

/** What list() validates of each record: all but the snapshot and outcome, whose deep JSON checks would cost several times the read. load() checks everything. */
const RunEnvelope = RunRecord.omit({ snapshot: true, outcome: true });

/** Runs whose records are read at once by list(): enough to overlap disk waits, few enough to stay clear of the descriptor limit. */
const LIST_CONCURRENCY = 32;

/**
 * The embedded default store: one folder (see file/layout.ts), every file
 * replaced atomically, so a kill -9 at any point leaves each file whole.
 * Processes sharing the folder take turns through a lock file per run for
 * every check-then-write (saves, leases, journal, logs); reads take no lock.
 */
/** A bucket's stored state (see guards/rate-limit.ts). */
const RateStateSchema = z.object({ tat: z.number(), holders: z.record(z.string(), z.number()) });

export class FileStore implements SnapshotStore {
  readonly #layout: FileLayout;
  readonly #commands: CommandQueue;
  /** The tail of each run's queue of operations from this process. */
  readonly #runQueues = new Map<string, Promise<void>>();
  /** Steps of journal entries this process wrote or read, by path: trimming then needs no file reads. */
  readonly #journalSteps = new Map<string, number>();

  constructor(options: FileStoreOptions = {}) {
    this.#layout = new FileLayout(options.dir ?? '.reins');
    this.#commands = new CommandQueue(this.#layout, options.pollMs ?? 100);
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

  async create(record: RunRecord): Promise<void> {
    const id = checkRunId(record.summary.runId);
    const valid = RunRecord.parse(record);
    await this.#io(async () => {
      await mkdir(this.#layout.journalDir(id), { recursive: true });
      await syncDir(this.#layout.runs);
      await withLock(this.#layout.lock(id), async () => {
        // The record is the run: a directory without one is a create that crashed before it and may be reused.
        if (await exists(this.#layout.record(id))) throw new RunExistsError(id);
        await writeAtomic(this.#layout.record(id), JSON.stringify(valid));
      });
    });
  }

  async save(record: RunRecord, fence: Fence): Promise<void> {
    const id = checkRunId(record.summary.runId);
    const valid = RunRecord.parse(record);
    await this.#io(() =>
      this.#withRun(id, async () => {
        await this.#checkFence(id, fence);
        const stored = await this.#readRecord(id);
        if (stored === null) throw new UnknownRunError(id);
        if (stored.version !== valid.version - 1) throw new StaleVersionError(id, valid.version - 1, stored.version);
        await writeAtomic(this.#layout.record(id), JSON.stringify(valid));
      }),
    );
  }

  async load(runId: string): Promise<RunRecord | null> {
    const id = checkRunId(runId);
    return this.#io(() => this.#readRecord(id));
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
        // Renamed away under the lock: readers see the whole run or nothing, and a crash leaves a ".deleted-" folder for purge.
        trash = await withLock(this.#layout.lock(id), async () => {
          const to = this.#layout.trash(id);
          await rename(this.#layout.runDir(id), to);
          return to;
        });
      } catch (err) {
        if (!hasCode(err, 'ENOENT')) throw err;
      }
      await this.#commands.drop(id);
      if (trash === null) return;
      await syncDir(this.#layout.runs);
      await rm(trash, { recursive: true, force: true });
    });
  }

  async purge(olderThan: number): Promise<number> {
    const old = (await this.list({ status: 'done' })).filter((s) => s.updatedAt < olderThan);
    for (const s of old) await this.delete(s.runId);
    await this.#io(async () => {
      // Deletions a crash interrupted.
      for (const name of await this.#runIds()) {
        if (name.startsWith('.deleted-')) await rm(join(this.#layout.runs, name), { recursive: true, force: true });
      }
    });
    return old.length;
  }

  async acquireLease(runId: string, owner: string, ttlMs: number): Promise<Lease | null> {
    const id = checkRunId(runId);
    return this.#io(() =>
      this.#withRun(id, async () => {
        const now = Date.now();
        const current = await this.#readLease(id);
        if (current && current.owner !== owner && current.expiresAt > now) return null;
        // Whoever takes the run may be taking over from a writer that crashed mid-write (itself, restarted): clear what it left.
        await Promise.all([sweepTemps(this.#layout.runDir(id)), sweepTemps(this.#layout.journalDir(id))]);
        const keep = current !== null && current.owner === owner && current.expiresAt > now;
        const lease: Lease = { owner, token: keep ? current.token : (current?.token ?? 0) + 1, expiresAt: now + ttlMs };
        await writeAtomic(this.#layout.lease(id), JSON.stringify(lease));
        return lease;
      }),
    );
  }

  async renewLease(runId: string, lease: Lease, ttlMs: number): Promise<Lease | null> {
    const id = checkRunId(runId);
    return this.#io(() =>
      this.#withRun(id, async () => {
        const current = await this.#readLease(id);
        if (current?.token !== lease.token || current.owner !== lease.owner) return null;
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
    const id = checkRunId(runId);
    return this.#io(() =>
      this.#withRun(id, async () => {
        await this.#checkFence(id, fence);
        const path = this.#layout.journalEntry(id, key);
        const existing = await this.#readJson(id, path, JournalEntry);
        this.#journalSteps.set(path, existing?.step ?? step);
        if (existing) return existing;
        await writeAtomic(path, JSON.stringify({ status: 'started', key, step, at: Date.now(), token: fence.leaseToken } satisfies JournalEntry));
        return null;
      }),
    );
  }

  async journalDone(runId: string, key: string, step: number, result: unknown, fence: Fence): Promise<void> {
    const id = checkRunId(runId);
    const entry = JournalEntry.parse({ status: 'done', key, step, at: Date.now(), result });
    await this.#io(() =>
      this.#withRun(id, async () => {
        await this.#checkFence(id, fence);
        // A call's outcome is recorded once: a replay must see the same result.
        const path = this.#layout.journalEntry(id, key);
        if ((await this.#readJson(id, path, JournalEntry))?.status === 'done') return;
        await writeAtomic(path, JSON.stringify(entry));
        this.#journalSteps.set(path, step);
      }),
    );
  }

  async journalGet(runId: string, key: string): Promise<JournalEntry | null> {
    const id = checkRunId(runId);
    return this.#io(() => this.#readJson(id, this.#layout.journalEntry(id, key), JournalEntry));
  }

  async journalTrim(runId: string, belowStep: number): Promise<number> {
    const id = checkRunId(runId);
    return this.#io(() =>
      this.#withRun(id, async () => {
        const dir = this.#layout.journalDir(id);
        let n = 0;
        for (const name of (await readdir(dir)).filter(isDataFile)) {
          const path = join(dir, name);
          const step = this.#journalSteps.get(path) ?? (await this.#readJson(id, path, JournalEntry))?.step;
          if (step !== undefined && step < belowStep && (await removeFile(path))) {
            this.#journalSteps.delete(path);
            n++;
          }
        }
        return n;
      }),
    ).catch((err: unknown) => {
      if (err instanceof UnknownRunError) return 0;
      throw err;
    });
  }

  async transcriptAppend(runId: string, step: number, messages: readonly unknown[], fence: Fence): Promise<void> {
    const id = checkRunId(runId);
    await this.#io(() =>
      this.#withRun(id, async () => {
        await this.#checkFence(id, fence);
        await appendTranscript(this.#layout.transcript(id), step, messages);
      }),
    );
  }

  async transcriptRead(runId: string): Promise<unknown[]> {
    const id = checkRunId(runId);
    return this.#io(() => readTranscript(this.#layout.transcript(id)));
  }

  async traceAppend(runId: string, entries: readonly TraceEntry[]): Promise<void> {
    const id = checkRunId(runId);
    const valid = entries.map((e) => TraceEntry.parse(e));
    await this.#io(() => this.#withRun(id, () => appendTrace(this.#layout.trace(id), valid)));
  }

  async traceRead(runId: string, limit = TRACE_CAP): Promise<TraceEntry[]> {
    const id = checkRunId(runId);
    return this.#io(() => readTrace(this.#layout.trace(id), limit));
  }

  async sendCommand(runId: string, command: Command): Promise<void> {
    const id = checkRunId(runId);
    const valid = Command.parse(command);
    await this.#io(async () => {
      if (!(await exists(this.#layout.record(id)))) throw new UnknownRunError(id);
      await mkdir(this.#layout.commands, { recursive: true });
      await this.#commands.send(id, valid);
    });
  }

  async takeCommands(runId: string): Promise<Command[]> {
    const id = checkRunId(runId);
    return this.#io(() => this.#commands.take(id, (path, text) => this.#decode(id, path, text, Command)));
  }

  async watchCommands(listener: (runId: string) => void): Promise<() => Promise<void>> {
    return this.#commands.watch(listener);
  }

  async close(): Promise<void> {
    await this.#commands.close();
  }

  /** Runs `op`, turning operating-system failures (disk full, permission, I/O error) into StoreUnavailableError. */
  async approvalPut(item: ApprovalItem): Promise<void> {
    const valid = ApprovalItem.parse(item);
    await this.#io(async () => {
      await mkdir(this.#layout.approvals, { recursive: true });
      await withLock(this.#layout.approvalsLock(), async () => {
        if (!(await exists(this.#layout.approval(valid.itemId)))) await writeAtomic(this.#layout.approval(valid.itemId), JSON.stringify(valid));
      });
    });
  }

  async approvalList(filter: { status?: ApprovalStatus; limit?: number } = {}): Promise<ApprovalItem[]> {
    return this.#io(async () => {
      const names = ((await ifExists(readdir(this.#layout.approvals))) ?? []).filter(isDataFile);
      const items: ApprovalItem[] = [];
      for (const name of names) {
        const text = await readText(join(this.#layout.approvals, name));
        const item = text === null ? null : decodeOrNull(ApprovalItem, text);
        if (item && (filter.status === undefined || item.status === filter.status)) items.push(item);
      }
      return items.sort(approvalOrder).slice(0, filter.limit);
    });
  }

  async approvalGet(itemId: string): Promise<ApprovalItem | null> {
    return this.#io(() => this.#readApproval(itemId));
  }

  async approvalDecide(itemId: string, decision: ApprovalDecision): Promise<ApprovalItem> {
    return this.#io(async () => {
      await mkdir(this.#layout.approvals, { recursive: true });
      return withLock(this.#layout.approvalsLock(), async () => {
        const item = await this.#readApproval(itemId);
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
      return withLock(this.#layout.rateLock(key), async () => {
        const text = await readText(this.#layout.rate(key));
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
      await withLock(this.#layout.rateLock(key), async () => {
        const text = await readText(this.#layout.rate(key));
        const state = text === null ? null : decodeOrNull(RateStateSchema, text);
        if (state) await writeAtomic(this.#layout.rate(key), JSON.stringify(rateRelease(state, holder)));
      });
    });
  }

  async #readApproval(itemId: string): Promise<ApprovalItem | null> {
    const text = await readText(this.#layout.approval(itemId));
    if (text === null) return null;
    const decoded = decode(ApprovalItem, text);
    if (!decoded.ok) throw new CorruptRecordError(itemId, this.#layout.key(this.#layout.approval(itemId)), decoded.detail);
    return decoded.value;
  }

  async #io<T>(op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (err) {
      if (isSystemError(err)) throw new StoreUnavailableError(`file store ${this.#layout.root}: ${err.message}`, { cause: err });
      throw err;
    }
  }

  /** Runs `fn` holding the run's lock; UnknownRunError when the run has no record. */
  async #withRun<T>(runId: string, fn: () => Promise<T>): Promise<T> {
    // Operations of this process on one run queue here in order, so the lock file's polling retry only ever
    // waits for another process: a run's snapshot write and its next journal entry never spin against each other.
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

  async #lockedRun<T>(runId: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await withLock(this.#layout.lock(runId), async () => {
        if (!(await exists(this.#layout.record(runId)))) throw new UnknownRunError(runId);
        return fn();
      });
    } catch (err) {
      // No directory to put the lock in: the run was never created, or was deleted meanwhile.
      if (hasCode(err, 'ENOENT')) throw new UnknownRunError(runId);
      throw err;
    }
  }

  async #runIds(): Promise<string[]> {
    return (await ifExists(readdir(this.#layout.runs))) ?? [];
  }

  async #checkFence(runId: string, fence: Fence): Promise<void> {
    const lease = await this.#readLease(runId);
    if (lease?.token !== fence.leaseToken) throw new StaleLeaseError(runId, fence.leaseToken, lease?.token ?? null);
  }

  #readLease(runId: string): Promise<Lease | null> {
    return this.#readJson(runId, this.#layout.lease(runId), Lease);
  }

  /** The record, refused while the run is quarantined even if its bytes have since become readable. */
  async #readRecord(runId: string): Promise<RunRecord | null> {
    const record = await this.#readJson(runId, this.#layout.record(runId), RunRecord);
    const marker = record && (await readText(this.#layout.quarantine(runId)));
    if (marker) {
      const why = decode(QuarantineMarker, marker);
      const key = why.ok ? why.value.key : this.#layout.key(this.#layout.quarantine(runId));
      throw new CorruptRecordError(runId, key, why.ok ? why.value.detail : 'quarantine marker present');
    }
    return record;
  }

  async #readJson<T>(runId: string, path: string, schema: z.ZodType<T>): Promise<T | null> {
    const text = await readText(path);
    return text === null ? null : this.#decode(runId, path, text, schema);
  }

  /** Validates stored text; on failure marks the run quarantined and throws CorruptRecordError, leaving the bytes as they are. */
  async #decode<T>(runId: string, path: string, text: string, schema: z.ZodType<T>): Promise<T> {
    const decoded = decode(schema, text);
    if (decoded.ok) return decoded.value;
    const key = this.#layout.key(path);
    const marker = this.#layout.quarantine(runId);
    if (!(await exists(marker))) {
      // Best effort: the corruption is the error to report, and list() sees an unreadable record as quarantined without the marker.
      await writeAtomic(marker, JSON.stringify({ key, detail: decoded.detail, at: Date.now() })).catch(() => undefined);
    }
    throw new CorruptRecordError(runId, key, decoded.detail, { cause: decoded.cause });
  }

  /** The run's summary for list(): null when it has no record, status 'quarantined' when marked or unreadable. */
  async #summary(runId: string): Promise<RunSummary | null> {
    const path = this.#layout.record(runId);
    const text = await readText(path);
    if (text === null) return null;
    const record = decode(RunEnvelope, text);
    if (!record.ok) {
      const st = await ifExists(stat(path));
      return st && unreadable(runId, st.mtimeMs);
    }
    return (await exists(this.#layout.quarantine(runId))) ? { ...record.value.summary, status: 'quarantined' } : record.value.summary;
  }
}

/** What list() can say about a run whose record does not parse: its id, and that it is quarantined. */
function unreadable(runId: string, mtimeMs: number): RunSummary {
  const at = Math.floor(mtimeMs);
  return { runId, agentId: 'unknown', parentId: null, status: 'quarantined', state: 'unknown', step: 0, turns: 0, activeTool: null, costUsd: 0, reason: null, createdAt: at, updatedAt: at };
}
