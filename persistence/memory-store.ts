import { EventEmitter } from 'node:events';
import { EMPTY_RATE_STATE, rateDecide, rateRelease, RatePolicy, type RateDecision, type RateState } from '../guards/rate-limit.js';
import {
  CorruptRecordError,
  RunExistsError,
  StaleLeaseError,
  StaleVersionError,
  UnknownApprovalError,
  UnknownRunError,
} from './errors.js';
import { approvalOrder, checkDecision } from './approval-rules.js';
import { matchesFilter, newestFirst } from './filter.js';
import {
  ApprovalItem,
  Command,
  type QueuedCommand,
  JournalEntry,
  Lease,
  RunRecord,
  storedRecord,
  TraceEntry,
  type ApprovalDecision,
  type ApprovalStatus,
  type RunFilter,
  type RunSummary,
} from './records.js';
import { retirable } from './retire.js';
import { checkRunId } from './run-id.js';
import { commitOf, startedEntry } from './commit.js';
import type { CommitResult, Fence, LeaseRequest, RetireRequest, RetireResult, RunCommit, SnapshotStore } from './store.js';

const TRACE_CAP = 1_000;

interface MemoryRun {
  /** Stored as JSON text, as the other stores do, so that callers can never share a mutable object with the store. */
  record: string;
  /** The stored record's version, kept beside it so a save does not re-read the record; null once its bytes are not trusted. */
  version: number | null;
  summary: RunSummary;
  quarantined: boolean;
  lease: Lease | null;
  /** Entry JSON by key, with its step and status beside it so that trims and `done` checks parse nothing. */
  journal: Map<string, { readonly step: number; readonly done: boolean; readonly text: string }>;
  transcript: { lastStep: number; messages: string[] };
  trace: string[];
  /** Queued command JSON by id, oldest first; ids count up per run. */
  commands: { readonly id: string; readonly text: string }[];
  commandSeq: number;
}

/** The in-process store: the reference semantics of SnapshotStore, for tests and single-process runs. */
export class MemoryStore implements SnapshotStore {
  readonly #runs = new Map<string, MemoryRun>();
  readonly #events = new EventEmitter();
  readonly #approvals = new Map<string, string>();
  readonly #rates = new Map<string, RateState>();
  readonly #now: () => number;

  constructor(options: { now?: () => number } = {}) {
    this.#now = options.now ?? Date.now;
  }

  async create(record: RunRecord, lease?: LeaseRequest): Promise<Lease | null> {
    checkRunId(record.summary.runId);
    const { text, valid } = storedRecord(record);
    if (this.#runs.has(valid.summary.runId)) throw new RunExistsError(valid.summary.runId);
    const owned = lease ? { owner: lease.owner, token: 1, expiresAt: this.#now() + lease.ttlMs } : null;
    this.#runs.set(valid.summary.runId, {
      record: text,
      version: valid.version,
      summary: valid.summary,
      quarantined: false,
      lease: owned,
      journal: new Map(),
      transcript: { lastStep: -1, messages: [] },
      trace: [],
      commands: [],
      commandSeq: 0,
    });
    return owned && { ...owned };
  }

  async save(record: RunRecord, fence: Fence): Promise<void> {
    await this.commit(commitOf(record.summary.runId, { record }), fence);
  }

  /**
   * All parts are checked before any is applied, so a refused commit writes
   * nothing. The record is not validated here: the supervisor built it, and
   * every read validates (a store that re-parsed every save would spend most
   * of a turn on it).
   */
  async commit(c: RunCommit, fence: Fence): Promise<CommitResult> {
    const run = this.#run(c.runId);
    this.#checkFence(c.runId, run, fence);
    if (c.record) {
      const stored = run.version ?? this.#parse(c.runId, run).version;
      if (stored !== c.record.version - 1) throw new StaleVersionError(c.runId, c.record.version - 1, stored);
    }
    const now = this.#now();
    for (const { step, messages } of c.transcript) {
      if (step <= run.transcript.lastStep) continue;
      run.transcript.lastStep = step;
      for (const m of messages) run.transcript.messages.push(JSON.stringify(m));
    }
    for (const { key, step, result } of c.journalDone) {
      // A call's outcome is recorded once: a replay must see the same result.
      if (run.journal.get(key)?.done) continue;
      run.journal.set(key, { step, done: true, text: JSON.stringify({ status: 'done', key, step, at: now, result: result ?? null }) });
    }
    if (c.record) {
      run.record = JSON.stringify(c.record);
      run.version = c.record.version;
      run.summary = c.record.summary;
    }
    this.#trace(run, c.trace);
    let existing: JournalEntry | null = null;
    if (c.journalStart) {
      const { key, step } = c.journalStart;
      existing = this.#entry(run, key);
      if (existing === null) run.journal.set(key, { step, done: false, text: JSON.stringify(startedEntry(c.journalStart, now, fence.leaseToken)) });
    }
    if (c.trimBelow !== null) this.#trim(run, c.trimBelow);
    if (c.ackCommands.length > 0) run.commands = run.commands.filter((q) => !c.ackCommands.includes(q.id));
    return { existing };
  }

  async load(runId: string): Promise<RunRecord | null> {
    checkRunId(runId);
    const run = this.#runs.get(runId);
    return run ? this.#parse(runId, run) : null;
  }

  async list(filter: RunFilter = {}): Promise<RunSummary[]> {
    const all = [...this.#runs.values()].map((r) => (r.quarantined ? { ...r.summary, status: 'quarantined' as const } : r.summary));
    return newestFirst(all.filter((s) => matchesFilter(s, filter))).slice(0, filter.limit);
  }

  async delete(runId: string): Promise<void> {
    checkRunId(runId);
    this.#runs.delete(runId);
  }

  async purge(olderThan: number): Promise<number> {
    let n = 0;
    for (const runId of [...this.#runs.keys()]) {
      if ((await this.retire({ runId, action: 'delete', updatedBefore: olderThan })) === 'deleted') n++;
    }
    return n;
  }

  async retire(request: RetireRequest): Promise<RetireResult> {
    const run = this.#runs.get(checkRunId(request.runId));
    // A quarantined run waits for an operator: retention never deletes evidence nobody has looked at.
    if (!run || run.quarantined || !retirable(run.summary, request.updatedBefore)) return 'ineligible';
    if (request.action === 'delete') {
      if (!request.dryRun) this.#runs.delete(request.runId);
      return 'deleted';
    }
    if (run.trace.length === 0) return 'no-trace';
    if (!request.dryRun) run.trace = [];
    return 'trace-dropped';
  }

  async acquireLease(runId: string, owner: string, ttlMs: number): Promise<Lease | null> {
    const run = this.#run(runId);
    const now = this.#now();
    const current = run.lease;
    if (current && current.owner !== owner && current.expiresAt > now) return null;
    // Every acquisition is a new holding with a new token, even by the same owner: a second host of the run in
    // one process (or a restarted worker reusing its id) fences out the first instead of writing beside it.
    run.lease = { owner, token: (current?.token ?? 0) + 1, expiresAt: now + ttlMs };
    return Lease.parse(run.lease);
  }

  async renewLease(runId: string, lease: Lease, ttlMs: number): Promise<Lease | null> {
    const run = this.#run(runId);
    // A released lease (expiresAt 0) stays released: a renewal answered after the release must not revive it.
    if (run.lease?.token !== lease.token || run.lease.owner !== lease.owner || run.lease.expiresAt === 0) return null;
    run.lease = { ...run.lease, expiresAt: this.#now() + ttlMs };
    return { ...run.lease };
  }

  async releaseLease(runId: string, lease: Lease): Promise<void> {
    checkRunId(runId);
    const run = this.#runs.get(runId);
    if (run?.lease?.token === lease.token) run.lease = { ...run.lease, expiresAt: 0 };
  }

  async readLease(runId: string): Promise<Lease | null> {
    checkRunId(runId);
    const lease = this.#runs.get(runId)?.lease;
    return lease ? { ...lease } : null;
  }

  async journalStart(runId: string, key: string, step: number, fence: Fence): Promise<JournalEntry | null> {
    return (await this.commit(commitOf(runId, { journalStart: { key, step } }), fence)).existing;
  }


  async journalDone(runId: string, key: string, step: number, result: unknown, fence: Fence): Promise<void> {
    await this.commit(commitOf(runId, { journalDone: [{ key, step, result }] }), fence);
  }


  async journalGet(runId: string, key: string): Promise<JournalEntry | null> {
    checkRunId(runId);
    const run = this.#runs.get(runId);
    return run ? this.#entry(run, key) : null;
  }

  async journalTrim(runId: string, belowStep: number, fence: Fence): Promise<void> {
    await this.commit(commitOf(runId, { trimBelow: belowStep }), fence);
  }


  async transcriptAppend(runId: string, step: number, messages: readonly unknown[], fence: Fence): Promise<void> {
    await this.commit(commitOf(runId, { transcript: [{ step, messages }] }), fence);
  }


  async transcriptRead(runId: string): Promise<unknown[]> {
    checkRunId(runId);
    return (this.#runs.get(runId)?.transcript.messages ?? []).map((m) => JSON.parse(m) as unknown);
  }

  async traceAppend(runId: string, entries: readonly TraceEntry[]): Promise<void> {
    this.#trace(this.#run(runId), entries);
  }


  async traceRead(runId: string, limit = TRACE_CAP): Promise<TraceEntry[]> {
    checkRunId(runId);
    if (limit <= 0) return [];
    return (this.#runs.get(runId)?.trace ?? []).slice(-limit).map((e) => TraceEntry.parse(JSON.parse(e)));
  }

  async sendCommand(runId: string, command: Command): Promise<void> {
    const run = this.#run(runId);
    run.commands.push({ id: String(++run.commandSeq), text: JSON.stringify(Command.parse(command)) });
    this.#events.emit('command', runId);
  }

  async peekCommands(runId: string): Promise<QueuedCommand[]> {
    checkRunId(runId);
    return (this.#runs.get(runId)?.commands ?? []).map((q) => ({ id: q.id, command: Command.parse(JSON.parse(q.text)) }));
  }

  async watchCommands(listener: (runId: string) => void): Promise<() => Promise<void>> {
    this.#events.on('command', listener);
    return async () => void this.#events.off('command', listener);
  }

  async approvalPut(item: ApprovalItem): Promise<void> {
    const valid = ApprovalItem.parse(item);
    if (!this.#approvals.has(valid.itemId)) this.#approvals.set(valid.itemId, JSON.stringify(valid));
  }

  async approvalList(filter: { status?: ApprovalStatus; limit?: number } = {}): Promise<ApprovalItem[]> {
    const items = [...this.#approvals.values()].map((raw) => ApprovalItem.parse(JSON.parse(raw)));
    return items.filter((i) => filter.status === undefined || i.status === filter.status).sort(approvalOrder).slice(0, filter.limit);
  }

  async approvalGet(itemId: string): Promise<ApprovalItem | null> {
    const raw = this.#approvals.get(itemId);
    return raw === undefined ? null : ApprovalItem.parse(JSON.parse(raw));
  }

  async approvalDecide(itemId: string, decision: ApprovalDecision): Promise<ApprovalItem> {
    const item = await this.approvalGet(itemId);
    if (!item) throw new UnknownApprovalError(itemId);
    const decided = checkDecision(item, decision);
    this.#approvals.set(itemId, JSON.stringify(decided));
    return decided;
  }

  async rateAcquire(key: string, policy: RatePolicy, holder: string): Promise<RateDecision> {
    const { decision, state } = rateDecide(this.#rates.get(key) ?? EMPTY_RATE_STATE, RatePolicy.parse(policy), holder, this.#now());
    this.#rates.set(key, state);
    return decision;
  }

  async rateRelease(key: string, holder: string): Promise<void> {
    const state = this.#rates.get(key);
    if (state) this.#rates.set(key, rateRelease(state, holder));
  }

  async close(): Promise<void> {
    this.#events.removeAllListeners();
  }

  /**
   * A copy of everything stored, as a process that restarts on the same data
   * would find it: runs, journals, transcripts, traces, queued commands,
   * approvals. Every lease is expired (its holder is gone), so the copy's
   * first worker takes every run over at once, with a higher fencing token
   * than the dead holder's.
   */
  copy(options: { now?: () => number } = {}): MemoryStore {
    const copy = new MemoryStore({ now: options.now ?? this.#now });
    for (const [runId, run] of this.#runs) {
      copy.#runs.set(runId, {
        ...run,
        summary: { ...run.summary },
        lease: run.lease ? { ...run.lease, expiresAt: 0 } : null,
        journal: new Map(run.journal),
        transcript: { lastStep: run.transcript.lastStep, messages: [...run.transcript.messages] },
        trace: [...run.trace],
        commands: [...run.commands],
      });
    }
    for (const [id, item] of this.#approvals) copy.#approvals.set(id, item);
    for (const [key, state] of this.#rates) copy.#rates.set(key, state);
    return copy;
  }

  /** Test hook: overwrites a run's stored record with bytes that do not parse, as a torn disk write would. */
  corruptForTest(runId: string, bytes: string): void {
    const run = this.#run(runId);
    run.record = bytes;
    run.version = null;
  }

  #run(runId: string): MemoryRun {
    const run = this.#runs.get(checkRunId(runId));
    if (!run) throw new UnknownRunError(runId);
    return run;
  }

  #entry(run: MemoryRun, key: string): JournalEntry | null {
    const entry = run.journal.get(key);
    return entry === undefined ? null : JournalEntry.parse(JSON.parse(entry.text));
  }

  #trim(run: MemoryRun, belowStep: number): void {
    for (const [key, entry] of run.journal) if (entry.step < belowStep) run.journal.delete(key);
  }

  #trace(run: MemoryRun, entries: readonly TraceEntry[]): void {
    for (const e of entries) run.trace.push(JSON.stringify(TraceEntry.parse(e)));
    if (run.trace.length > TRACE_CAP) run.trace.splice(0, run.trace.length - TRACE_CAP);
  }

  #checkFence(runId: string, run: MemoryRun, fence: Fence): void {
    if (run.lease?.token !== fence.leaseToken) throw new StaleLeaseError(runId, fence.leaseToken, run.lease?.token ?? null);
  }

  #parse(runId: string, run: MemoryRun): RunRecord {
    let parsed: ReturnType<typeof RunRecord.safeParse>;
    try {
      parsed = RunRecord.safeParse(JSON.parse(run.record));
    } catch (cause) {
      run.quarantined = true;
      throw new CorruptRecordError(runId, 'record', 'not JSON', { cause });
    }
    if (!parsed.success) {
      run.quarantined = true;
      throw new CorruptRecordError(runId, 'record', parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    }
    return parsed.data;
  }
}
