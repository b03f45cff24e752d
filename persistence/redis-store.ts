import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { z } from 'zod';
import { RatePolicy, type RateDecision } from '../guards/rate-limit.js';
import { approvalOrder, checkDecision } from './approval-rules.js';
import { CorruptRecordError, RunExistsError, StaleLeaseError, StaleVersionError, UnknownApprovalError, UnknownRunError } from './errors.js';
import { matchesFilter, newestFirst } from './filter.js';
import { ApprovalItem, Command, JournalEntry, type QueuedCommand, Lease, RECORD_SCHEMA, RunFilter, RunRecord, RunSummary, StoredJson, storedRecord, TraceEntry, type ApprovalDecision, type ApprovalStatus } from './records.js';
import {
  allRunKeys,
  approvalKeys,
  checkPrefix,
  commandChannel,
  DEFAULT_PREFIX,
  indexKeys,
  indexSetsFor,
  rateKeys,
  runKeys,
  type RunKeys,
} from './redis/keys.js';
import { ScriptBatch } from './redis/script-batch.js';
import { defineScripts, type ScriptName } from './redis/scripts.js';
import { passwordOf, toStoreError } from './redis/unavailable.js';
import { checkRunId } from './run-id.js';
import { commitOf, startedEntry } from './commit.js';
import { retirable } from './retire.js';
import type { CommitResult, Fence, LeaseRequest, RetireRequest, RetireResult, RunCommit, SnapshotStore } from './store.js';

const DEFAULT_URL = 'redis://127.0.0.1:6379';
const DEFAULT_TRACE_CAP = 1_000;

/**
 * Connection defaults that make an unreachable Redis fail a call within
 * seconds (StoreUnavailableError) instead of queueing it forever, while the
 * client keeps reconnecting in the background.
 */
const CONNECTION_DEFAULTS: RedisOptions = {
  maxRetriesPerRequest: 1,
  connectTimeout: 3_000,
  commandTimeout: 10_000,
  retryStrategy: (times) => Math.min(times * 100, 2_000),
};

/** A Cluster client queues commands until it reaches a node, however long that takes: connect() gives up after this. */
const CONNECT_DEADLINE_MS = 10_000;

/** What sits in `reins:{id}:summary`: the summary of the stored record and its version, written with it. */
const StoredSummary = z.object({ version: z.number().int().positive(), summary: RunSummary });
type StoredSummary = z.infer<typeof StoredSummary>;

/** What sits in `reins:{id}:quarantine`: which key did not parse, and why. */
const QuarantineMark = z.object({ key: z.string(), detail: z.string(), at: z.number() });
type QuarantineMark = z.infer<typeof QuarantineMark>;

/** How a run looks in a listing: its summary (status `quarantined` when it is) and the record version it came from. */
interface RunView {
  readonly version: number;
  readonly summary: RunSummary;
}

/** Options of RedisStore. */
/** How long an index entry may wait for the run it announces before list() drops it. */
const CREATE_GRACE_MS = 60_000;

export interface RedisStoreOptions {
  /** Redis URL, e.g. `redis://:password@host:6379/0` or `rediss://…` for TLS. Default: REDIS_URL, else redis://127.0.0.1:6379. */
  readonly url?: string;
  /** Bring your own client (Redis or Cluster); the store then does not close it. */
  readonly redis?: Redis | Cluster;
  /** The start nodes of a Redis Cluster: the store opens (and closes) a Cluster client on them; `url` is then ignored. */
  readonly cluster?: readonly { readonly host: string; readonly port: number }[];
  /** More ioredis options for the client the store creates (each cluster node's), e.g. `{ tls: { ca } }` for a private CA. */
  readonly redisOptions?: RedisOptions;
  /** How many trace entries a run keeps (approximately: XADD MAXLEN ~); default 1000. */
  readonly traceCap?: number;
  /** Key prefix (default `reins`); isolates deployments or test files sharing one Redis. */
  readonly prefix?: string;
}

/**
 * The production store: Redis (standalone or Cluster) through ioredis.
 *
 * Every operation on several keys of a run is one Lua script (persistence/
 * redis/lua/), all keys of a run share the hash tag `{runId}`, and the run
 * index lives under its own tag `{index}`, updated by its own script right
 * after a successful create, and after a commit that changes the run's index
 * fields (status, agent, reason, parent; not every commit: an entry's score
 * is the run's `updatedAt` at its last index change, so a listing with a
 * `limit` picks the runs whose index fields changed last, sorted by
 * `updatedAt`). The run record is the truth: list()
 * re-reads each listed run's summary (written with the record, and rebuilt
 * from it when it does not parse: only a bad record quarantines) and drops or
 * repairs stale index entries, so a crash between the two scripts never
 * shows a wrong status; at worst a run created just before the crash is
 * missing from listings until its next save (a failure seen by a live
 * process is retried by its next list()).
 */
export class RedisStore implements SnapshotStore {
  readonly #redis: Redis | Cluster;
  readonly #owned: boolean;
  readonly #secret: string | null;
  readonly #prefix: string;
  readonly #traceCap: number;
  /** Script calls of one tick, sent together. */
  readonly #batch: ScriptBatch;
  readonly #onError = (): void => {
    // Connection errors surface as rejected calls (StoreUnavailableError); an 'error' event must never crash the process.
  };
  /** Runs whose index update failed after their own write succeeded: redone by the next list(). */
  readonly #pendingIndex = new Set<string>();
  /**
   * The index sets each run was last put in by this store, while this process holds it (forgotten when a
   * lease is taken, so a run another worker moved meanwhile is indexed again): a commit that leaves them
   * as they were sends no index write.
   */
  readonly #indexedIn = new Map<string, string>();
  /** Index writes sent after a commit and not answered yet, by run: list() waits for them, a newer one replaces an older. */
  readonly #indexing = new Map<string, Promise<void>>();
  #subscriber: Promise<Redis | Cluster> | null = null;
  readonly #watchers = new Set<{ listener: (runId: string) => void }>();

  constructor(options: RedisStoreOptions = {}) {
    this.#prefix = checkPrefix(options.prefix ?? DEFAULT_PREFIX);
    const cap = options.traceCap ?? DEFAULT_TRACE_CAP;
    if (!Number.isInteger(cap) || cap < 1) throw new TypeError(`traceCap must be a positive integer (got ${cap})`);
    this.#traceCap = cap;
    if (options.redis) {
      this.#redis = options.redis;
      this.#owned = false;
      this.#secret = null;
    } else if (options.cluster) {
      this.#redis = new Cluster([...options.cluster], { redisOptions: { ...CONNECTION_DEFAULTS, ...options.redisOptions } });
      this.#owned = true;
      this.#secret = options.redisOptions?.password ?? null;
    } else {
      // The URL goes to ioredis untouched (it parses password, db and rediss:// itself) and is never logged.
      const url = options.url ?? process.env.REDIS_URL ?? DEFAULT_URL;
      this.#redis = new Redis(url, { ...CONNECTION_DEFAULTS, ...options.redisOptions });
      this.#owned = true;
      this.#secret = passwordOf(url);
    }
    this.#redis.on('error', this.#onError);
    defineScripts(this.#redis);
    this.#batch = new ScriptBatch(this.#redis);
  }

  /** A store whose Redis answered PING; StoreUnavailableError (and nothing left running) otherwise. */
  static async connect(url?: string, options: Omit<RedisStoreOptions, 'url' | 'redis'> = {}): Promise<RedisStore> {
    const store = new RedisStore({ ...options, ...(url === undefined ? {} : { url }) });
    try {
      await store.#call(() => answered(store.#redis.ping(), CONNECT_DEADLINE_MS));
      return store;
    } catch (err) {
      await store.close();
      throw err;
    }
  }

  async create(record: RunRecord, lease?: LeaseRequest): Promise<Lease | null> {
    const runId = checkRunId(record.summary.runId);
    const { text, valid } = storedRecord(record);
    const k = this.#keys(runId);
    // Index first: a process that dies between the two scripts then leaves an index entry without a run (which
    // list() drops once it is old enough), never a run nobody can list and so nobody recovers.
    await this.#index(runId, { version: valid.version, summary: valid.summary });
    const reply = await this.#script('create-run', [k.run, k.summary, k.lease], [text, summaryJson(valid), lease?.owner ?? '', lease ? Math.ceil(lease.ttlMs) : '']);
    if (code(reply) === 'RUN_EXISTS') throw new RunExistsError(runId);
    expectOk(reply, 'create-run');
    return lease ? leaseOf(reply) : null;
  }

  async save(record: RunRecord, fence: Fence): Promise<void> {
    await this.commit(commitOf(record.summary.runId, { record }), fence);
  }

  async commit(c: RunCommit, fence: Fence): Promise<CommitResult> {
    const runId = checkRunId(c.runId);
    const k = this.#keys(runId);
    const record = c.record;
    const now = Date.now();
    const args: (string | number)[] = [
      String(fence.leaseToken),
      record ? JSON.stringify(record) : '',
      record ? summaryJson(record) : '',
      record ? record.version : '',
      this.#traceCap,
      c.journalStart?.key ?? '',
      c.journalStart ? JSON.stringify(startedEntry(c.journalStart, now, fence.leaseToken)) : '',
      c.trimBelow ?? '',
      c.transcript.length,
      c.journalDone.length,
      c.trace.length,
      c.ackCommands.length,
    ];
    for (const { step, messages } of c.transcript) {
      args.push(step, messages.length);
      for (const [i, m] of messages.entries()) args.push(jsonOf(m, `transcript message ${i} of step ${step}`));
    }
    for (const { key, step, result } of c.journalDone) args.push(key, JSON.stringify({ status: 'done', key, step, at: now, result: result ?? null }));
    for (const [i, e] of c.trace.entries()) args.push(jsonOf(e, `trace entry ${i}`));
    args.push(...c.ackCommands);
    const reply = await this.#script('commit-run', [k.run, k.summary, k.lease, k.quarantine, k.journal, k.transcript, k.transcriptStep, k.trace, k.commands], args);
    switch (code(reply)) {
      case 'OK': {
        // The index follows the record without holding the commit up (list() waits for index writes in flight),
        // and only when the run's index fields changed: most commits leave status, agent, reason and parent alone.
        if (record) this.#indexSoon(runId, { version: record.version, summary: record.summary });
        const existing = field(reply, 1);
        return { existing: typeof existing === 'string' ? await this.#journalEntry(runId, k, c.journalStart!.key, existing) : null };
      }
      case 'QUARANTINED': {
        const why = parseJson(QuarantineMark, String(field(reply, 1)));
        throw why.ok ? new CorruptRecordError(runId, why.value.key, `quarantined earlier: ${why.value.detail}`) : new CorruptRecordError(runId, k.quarantine, 'quarantined earlier');
      }
      case 'CORRUPT':
        throw await this.#corrupt(runId, k.run, String(field(reply, 1)));
      case 'STALE_VERSION':
        throw new StaleVersionError(runId, record!.version - 1, Number(field(reply, 1)));
      default:
        this.#throwFenced(runId, fence, reply, 'commit-run');
    }
  }

  async load(runId: string): Promise<RunRecord | null> {
    const k = this.#keys(checkRunId(runId));
    const raw = await this.#call(() => this.#redis.get(k.run));
    if (raw === null) return null;
    const parsed = parseJson(RunRecord, raw);
    if (!parsed.ok) throw await this.#corrupt(runId, k.run, parsed.detail);
    return parsed.value;
  }

  async list(filter: RunFilter = {}): Promise<RunSummary[]> {
    const f = RunFilter.parse(filter);
    await this.#flushPendingIndex();
    const ix = indexKeys(this.#prefix);
    const sets: string[] = [];
    if (f.status !== undefined) sets.push(ix.status(f.status));
    if (f.agentId !== undefined) sets.push(ix.agent(f.agentId));
    if (f.reason !== undefined) sets.push(ix.reason(f.reason));
    if (f.parentId !== undefined) sets.push(ix.parent(f.parentId));
    const limit = f.limit ?? Number.POSITIVE_INFINITY;
    const pageSize = Number.isFinite(limit) ? Math.min(Math.max(limit * 2, 50), 1_000) : 1_000;
    const found: RunSummary[] = [];

    if (sets.length <= 1) {
      // One set: page through it newest first, stopping once `limit` valid runs are found.
      const set = sets[0] ?? ix.all;
      for (let start = 0; found.length < limit; start += pageSize) {
        const page = scored(await this.#call(() => this.#redis.zrevrange(set, start, start + pageSize - 1, 'WITHSCORES')));
        await this.#collect(page, [set], f, found);
        if (page.length < pageSize) break;
      }
    } else {
      // Several filters: intersect their sets on the {index} slot, then check newest first.
      const all = scored(await this.#call(() => this.#redis.call('ZINTER', sets.length, ...sets, 'AGGREGATE', 'MAX', 'WITHSCORES')));
      all.sort((a, b) => b.score - a.score);
      for (let start = 0; start < all.length && found.length < limit; start += pageSize) {
        await this.#collect(all.slice(start, start + pageSize), sets, f, found);
      }
    }
    return newestFirst(found).slice(0, f.limit);
  }

  async delete(runId: string): Promise<void> {
    const k = this.#keys(checkRunId(runId));
    this.#indexedIn.delete(runId);
    await this.#script('delete-run', allRunKeys(k), []);
    await this.#unindex(runId);
  }

  async purge(olderThan: number): Promise<number> {
    const doneSet = indexKeys(this.#prefix).status('done');
    // Nominate first (the index), then decide per run (its own summary, inside delete-run.lua).
    const nominated: string[] = [];
    for (let offset = 0; ; offset += 500) {
      const ids = await this.#call(() => this.#redis.zrangebyscore(doneSet, '-inf', `(${olderThan}`, 'LIMIT', offset, 500));
      nominated.push(...ids);
      if (ids.length < 500) break;
    }
    let purged = 0;
    for (const runId of nominated) {
      if (isSafeRunId(runId) && (await this.retire({ runId, action: 'delete', updatedBefore: olderThan })) === 'deleted') purged++;
    }
    return purged;
  }

  async retire(request: RetireRequest): Promise<RetireResult> {
    const runId = checkRunId(request.runId);
    const doneSet = indexKeys(this.#prefix).status('done');
    let result = await this.#retireScript(runId, request);
    if (result === 'ineligible') {
      // Not done, newer, quarantined or gone: the index was stale. Or its summary did not parse, which #view rebuilds: then ask again.
      const view = await this.#view(runId);
      if (view !== null && retirable(view.summary, request.updatedBefore)) result = await this.#retireScript(runId, request);
      if (result === 'ineligible') {
        if (view === null) await this.#unindex(runId, [doneSet]);
        else await this.#index(runId, view, [doneSet]);
        return result;
      }
    }
    if (result === 'deleted' && !request.dryRun) await this.#unindex(runId, [doneSet]);
    return result;
  }

  /** One run of retire-run.lua, its answer checked. */
  async #retireScript(runId: string, request: RetireRequest): Promise<RetireResult> {
    const k = this.#keys(runId);
    const reply = await this.#script('retire-run', [k.run, k.summary, k.quarantine, k.trace, ...retireOtherKeys(k)], [request.action, String(request.updatedBefore), request.dryRun ? '1' : '0']);
    const result = RetireReply.safeParse(reply);
    if (!result.success) throw unexpected('retire-run', reply);
    return result.data;
  }

  async acquireLease(runId: string, owner: string, ttlMs: number): Promise<Lease | null> {
    const k = this.#keys(checkRunId(runId));
    this.#indexedIn.delete(runId);
    const reply = await this.#script('acquire-lease', [k.run, k.lease], [owner, Math.ceil(ttlMs)]);
    switch (code(reply)) {
      case 'OK':
        return leaseOf(reply);
      case 'HELD':
        return null;
      case 'UNKNOWN_RUN':
        throw new UnknownRunError(runId);
      default:
        throw unexpected('acquire-lease', reply);
    }
  }

  async renewLease(runId: string, lease: Lease, ttlMs: number): Promise<Lease | null> {
    const k = this.#keys(checkRunId(runId));
    const reply = await this.#script('renew-lease', [k.run, k.lease], [lease.owner, String(lease.token), Math.ceil(ttlMs)]);
    switch (code(reply)) {
      case 'OK':
        return leaseOf(reply);
      case 'LOST':
        return null;
      case 'UNKNOWN_RUN':
        throw new UnknownRunError(runId);
      default:
        throw unexpected('renew-lease', reply);
    }
  }

  async releaseLease(runId: string, lease: Lease): Promise<void> {
    const k = this.#keys(checkRunId(runId));
    await this.#script('release-lease', [k.lease], [String(lease.token)]);
  }

  async readLease(runId: string): Promise<Lease | null> {
    const k = this.#keys(checkRunId(runId));
    const raw = await this.#call(() => this.#redis.hgetall(k.lease));
    if (Object.keys(raw).length === 0) return null;
    const parsed = Lease.safeParse({ owner: raw.owner, token: Number(raw.token), expiresAt: Number(raw.expiresAt) });
    if (!parsed.success) throw await this.#corrupt(runId, k.lease, issues(parsed.error));
    return parsed.data;
  }

  async journalStart(runId: string, key: string, step: number, fence: Fence): Promise<JournalEntry | null> {
    return (await this.commit(commitOf(runId, { journalStart: { key, step } }), fence)).existing;
  }


  async journalDone(runId: string, key: string, step: number, result: unknown, fence: Fence): Promise<void> {
    await this.commit(commitOf(runId, { journalDone: [{ key, step, result }] }), fence);
  }


  async journalGet(runId: string, key: string): Promise<JournalEntry | null> {
    const k = this.#keys(checkRunId(runId));
    const raw = await this.#call(() => this.#redis.hget(k.journal, key));
    return raw === null ? null : this.#journalEntry(runId, k, key, raw);
  }

  async journalTrim(runId: string, belowStep: number, fence: Fence): Promise<void> {
    await this.commit(commitOf(runId, { trimBelow: belowStep }), fence);
  }


  async transcriptAppend(runId: string, step: number, messages: readonly unknown[], fence: Fence): Promise<void> {
    await this.commit(commitOf(runId, { transcript: [{ step, messages }] }), fence);
  }


  async transcriptRead(runId: string): Promise<unknown[]> {
    const k = this.#keys(checkRunId(runId));
    const raw = await this.#call(() => this.#redis.lrange(k.transcript, 0, -1));
    const out: unknown[] = [];
    for (const [i, m] of raw.entries()) {
      const parsed = parseJson(StoredJson, m);
      if (!parsed.ok) throw await this.#corrupt(runId, `${k.transcript}[${i}]`, parsed.detail);
      out.push(parsed.value);
    }
    return out;
  }

  async traceAppend(runId: string, entries: readonly TraceEntry[]): Promise<void> {
    const k = this.#keys(checkRunId(runId));
    const encoded = entries.map((e) => JSON.stringify(TraceEntry.parse(e)));
    const reply = await this.#script('trace-append', [k.run, k.trace], [this.#traceCap, ...encoded]);
    if (code(reply) === 'UNKNOWN_RUN') throw new UnknownRunError(runId);
    expectOk(reply, 'trace-append');
  }

  async traceRead(runId: string, limit = this.#traceCap): Promise<TraceEntry[]> {
    const k = this.#keys(checkRunId(runId));
    if (limit < 1) return [];
    const raw = await this.#call(() => this.#redis.xrevrange(k.trace, '+', '-', 'COUNT', Math.floor(limit)));
    const out: TraceEntry[] = [];
    for (const [id, fields] of raw.reverse()) {
      const parsed = parseJson(TraceEntry, streamField(fields, 'e'));
      if (!parsed.ok) throw await this.#corrupt(runId, `${k.trace}#${id}`, parsed.detail);
      out.push(parsed.value);
    }
    return out;
  }

  async sendCommand(runId: string, command: Command): Promise<void> {
    const k = this.#keys(checkRunId(runId));
    const json = JSON.stringify(Command.parse(command));
    const reply = await this.#script('send-command', [k.run, k.commands, k.commandSeq], [json, commandChannel(this.#prefix), runId]);
    if (code(reply) === 'UNKNOWN_RUN') throw new UnknownRunError(runId);
    expectOk(reply, 'send-command');
  }

  async peekCommands(runId: string): Promise<QueuedCommand[]> {
    const k = this.#keys(checkRunId(runId));
    const raw = (await this.#script('peek-commands', [k.commands, k.commandSeq], [])) as string[];
    const out: QueuedCommand[] = [];
    for (const item of raw) {
      const parsed = parseJson(StoredCommand, item);
      // Nothing was taken: the stored bytes stay as they were for an operator.
      if (!parsed.ok) throw await this.#corrupt(runId, k.commands, parsed.detail);
      const { seq, ...command } = parsed.value;
      out.push({ id: String(seq), command: Command.parse(command) });
    }
    return out;
  }

  async watchCommands(listener: (runId: string) => void): Promise<() => Promise<void>> {
    const watcher = { listener };
    this.#watchers.add(watcher);
    try {
      await this.#subscribe();
    } catch (err) {
      this.#watchers.delete(watcher);
      throw err;
    }
    return async () => {
      this.#watchers.delete(watcher);
      if (this.#watchers.size === 0) await this.#unsubscribe();
    };
  }

  async approvalPut(item: ApprovalItem): Promise<void> {
    const valid = ApprovalItem.parse(item);
    const k = approvalKeys(this.#prefix);
    await this.#script('approval-put', [k.item(valid.itemId), k.status(valid.status)], [JSON.stringify(valid), valid.itemId]);
  }

  async approvalList(filter: { status?: ApprovalStatus; limit?: number } = {}): Promise<ApprovalItem[]> {
    const k = approvalKeys(this.#prefix);
    const statuses: ApprovalStatus[] = filter.status ? [filter.status] : ['pending', 'approved', 'rejected', 'expired', 'cancelled'];
    const ids = (await Promise.all(statuses.map((st) => this.#call(() => this.#redis.smembers(k.status(st)))))).flat();
    if (ids.length === 0) return [];
    const raws = await this.#call(() => this.#redis.mget(ids.map((id) => k.item(id))));
    const items: ApprovalItem[] = [];
    for (const [i, raw] of raws.entries()) {
      if (raw === null) continue;
      const parsed = parseJson(ApprovalItem, raw);
      if (!parsed.ok) throw new CorruptRecordError(ids[i]!, k.item(ids[i]!), parsed.detail);
      items.push(parsed.value);
    }
    return items.sort(approvalOrder).slice(0, filter.limit);
  }

  async approvalGet(itemId: string): Promise<ApprovalItem | null> {
    return (await this.#readApproval(itemId))?.item ?? null;
  }

  async approvalDecide(itemId: string, decision: ApprovalDecision): Promise<ApprovalItem> {
    const k = approvalKeys(this.#prefix);
    // Read, check in TypeScript (one rule for every store), then compare-and-set; a concurrent decision is seen on the retry.
    for (;;) {
      const read = await this.#readApproval(itemId);
      if (!read) throw new UnknownApprovalError(itemId);
      const decided = checkDecision(read.item, decision);
      const reply = await this.#script('approval-cas', [k.item(itemId), k.status(read.item.status), k.status(decided.status)], [read.raw, JSON.stringify(decided), itemId]);
      if (code(reply) === 'UNKNOWN') throw new UnknownApprovalError(itemId);
      if (code(reply) !== 'CHANGED') return decided;
    }
  }

  async rateAcquire(key: string, policy: RatePolicy, holder: string): Promise<RateDecision> {
    const p = RatePolicy.parse(policy);
    const k = rateKeys(key, this.#prefix);
    const [granted, retryAfterMs] = (await this.#script('rate-acquire', [k.tat, k.holders], [p.limit, p.perMs, p.burst, p.concurrency ?? 0, p.slotTtlMs, holder])) as [number, number];
    return granted === 1 ? { granted: true } : { granted: false, retryAfterMs: Number(retryAfterMs) };
  }

  async rateRelease(key: string, holder: string): Promise<void> {
    await this.#script('rate-release', [rateKeys(key, this.#prefix).holders], [holder]);
  }

  async #readApproval(itemId: string): Promise<{ item: ApprovalItem; raw: string } | null> {
    const key = approvalKeys(this.#prefix).item(itemId);
    const raw = await this.#call(() => this.#redis.get(key));
    if (raw === null) return null;
    const parsed = parseJson(ApprovalItem, raw);
    if (!parsed.ok) throw new CorruptRecordError(itemId, key, parsed.detail);
    return { item: parsed.value, raw };
  }

  async close(): Promise<void> {
    this.#watchers.clear();
    // Index writes still in flight land first (a failed one is found again by the next list()).
    await Promise.all(this.#indexing.values());
    await this.#unsubscribe();
    if (this.#owned) await quit(this.#redis);
    this.#redis.off('error', this.#onError);
  }

  // ---- commands and pub/sub -------------------------------------------------

  /** One subscriber connection (a duplicate of the client) shared by all watchers; ioredis resubscribes after a reconnect. */
  #subscribe(): Promise<Redis | Cluster> {
    this.#subscriber ??= (async () => {
      const sub: Redis | Cluster = this.#redis instanceof Redis ? this.#redis.duplicate() : this.#redis.duplicate();
      sub.on('error', this.#onError);
      sub.on('message', (_channel: string, runId: string) => {
        for (const w of this.#watchers) {
          try {
            w.listener(runId);
          } catch (err) {
            // A listener's bug must not kill the subscriber (or the process): report it without throwing.
            process.emitWarning(`reins: a watchCommands listener threw: ${err instanceof Error ? err.message : String(err)}`);
          }
        }
      });
      try {
        await this.#call(() => sub.subscribe(commandChannel(this.#prefix)));
      } catch (err) {
        this.#subscriber = null;
        sub.disconnect();
        throw err;
      }
      return sub;
    })();
    return this.#subscriber;
  }

  async #unsubscribe(): Promise<void> {
    const pending = this.#subscriber;
    this.#subscriber = null;
    if (!pending) return;
    const sub = await pending.catch(() => null);
    if (sub) await quit(sub);
  }

  // ---- index ----------------------------------------------------------------

  /**
   * Moves the run to the index sets of its (effective) summary, and out of
   * `seenIn` sets it does not belong in. Failures are remembered and redone
   * by list(): the write itself already succeeded.
   */
  async #index(runId: string, view: RunView, seenIn: readonly string[] = []): Promise<void> {
    try {
      const ix = indexKeys(this.#prefix);
      const sets = indexSetsFor(view.summary, this.#prefix);
      const leave = seenIn.filter((s) => !sets.includes(s));
      await this.#script('index-run', [ix.entries, ...sets, ...leave], [runId, view.version, view.summary.updatedAt, sets.length]);
      this.#pendingIndex.delete(runId);
      if (view.summary.status === 'done') this.#indexedIn.delete(runId);
      else this.#indexedIn.set(runId, sets.join(' '));
    } catch {
      this.#indexedIn.delete(runId);
      this.#pendingIndex.add(runId);
    }
  }

  async #unindex(runId: string, seenIn: readonly string[] = []): Promise<void> {
    this.#indexedIn.delete(runId);
    try {
      const ix = indexKeys(this.#prefix);
      await this.#script('unindex-run', [ix.entries, ix.all, ...seenIn.filter((s) => s !== ix.all)], [runId]);
      this.#pendingIndex.delete(runId);
    } catch {
      this.#pendingIndex.add(runId);
    }
  }

  /** Brings the index of one run back in line with its record (or removes a deleted run). */
  async #reindex(runId: string): Promise<void> {
    const view = await this.#view(runId);
    if (view === null) await this.#unindex(runId);
    else await this.#index(runId, view);
  }

  /** Indexes the run after its commit when its index sets changed, without making the commit wait for a second round trip. */
  #indexSoon(runId: string, view: RunView): void {
    const previous = this.#indexing.get(runId);
    if (previous === undefined && this.#indexedIn.get(runId) === indexSetsFor(view.summary, this.#prefix).join(' ')) return;
    // One at a time per run, in commit order, so an older version never lands last (index-run refuses it anyway).
    const next = (previous ?? Promise.resolve()).then(() => this.#index(runId, view));
    this.#indexing.set(runId, next);
    void next.then(() => {
      if (this.#indexing.get(runId) === next) this.#indexing.delete(runId);
    });
  }

  async #flushPendingIndex(): Promise<void> {
    await Promise.all(this.#indexing.values());
    for (const runId of [...this.#pendingIndex]) await this.#reindex(runId);
  }

  /** Checks listed candidates against their records: keeps the matching ones, repairs the index for the rest. */
  async #collect(candidates: readonly { runId: string; score: number }[], sets: readonly string[], f: RunFilter, found: RunSummary[]): Promise<void> {
    const views = await Promise.all(candidates.map((c) => this.#view(c.runId)));
    const repairs: Promise<void>[] = [];
    views.forEach((view, i) => {
      const c = candidates[i]!;
      // An entry whose run is missing is dropped only once it is older than a creation takes: the run may be on its way.
      if (view === null) {
        if (Date.now() - c.score > CREATE_GRACE_MS) repairs.push(this.#unindex(c.runId, sets));
      }
      else if (!matchesFilter(view.summary, f)) repairs.push(this.#index(c.runId, view, sets));
      else found.push(view.summary);
    });
    await Promise.all(repairs);
  }

  /** A run as a listing shows it, from its summary and quarantine mark; null when the run is gone. */
  async #view(runId: string): Promise<RunView | null> {
    if (!isSafeRunId(runId)) return null;
    const k = this.#keys(runId);
    const reply = await this.#script('read-summary', [k.summary, k.quarantine, k.run], []);
    const [raw, quarantined, exists] = reply as [string | null, number, number];
    if (exists === 0) return null;
    const found = await this.#summaryOf(runId, raw);
    if (found.kind === 'gone') return null;
    if (found.kind === 'corrupt') {
      await this.#corrupt(runId, k.run, found.detail);
      return { version: Number.MAX_SAFE_INTEGER, summary: placeholderSummary(runId) };
    }
    const { version, summary } = found.stored;
    return { version, summary: quarantined === 1 ? { ...summary, status: 'quarantined' } : summary };
  }

  /**
   * The run's stored summary (`raw`), or, when it does not parse, one
   * rebuilt from the record: the summary is derived data (tampering or a bad
   * migration damaged it), the record is the truth, and only a bad record
   * quarantines. The rebuilt summary is written back unless a commit
   * replaced the record meanwhile (that commit wrote its own).
   */
  async #summaryOf(runId: string, raw: string | null): Promise<{ kind: 'ok'; stored: StoredSummary } | { kind: 'gone' } | { kind: 'corrupt'; detail: string }> {
    const parsed = parseJson(StoredSummary, raw);
    if (parsed.ok) return { kind: 'ok', stored: parsed.value };
    const k = this.#keys(runId);
    const text = await this.#call(() => this.#redis.get(k.run));
    if (text === null) return { kind: 'gone' };
    const record = parseJson(RunRecord, text);
    if (!record.ok) return { kind: 'corrupt', detail: record.detail };
    await this.#script('repair-summary', [k.run, k.summary], [text, summaryJson(record.value)]);
    return { kind: 'ok', stored: { version: record.value.version, summary: record.value.summary } };
  }

  // ---- corruption ------------------------------------------------------------

  /**
   * Marks the run quarantined (record untouched), moves it to the quarantined
   * index, and returns the error to throw. Marking is best effort: the error
   * is the news even when Redis cannot take the mark right now.
   */
  async #corrupt(runId: string, key: string, detail: string): Promise<CorruptRecordError> {
    const k = this.#keys(runId);
    try {
      const mark: QuarantineMark = { key, detail, at: Date.now() };
      const reply = await this.#script('quarantine-run', [k.run, k.quarantine, k.summary], [JSON.stringify(mark)]);
      if (code(reply) === 'OK') {
        const found = await this.#summaryOf(runId, field(reply, 1) as string | null);
        const view: RunView =
          found.kind === 'ok'
            ? { version: found.stored.version, summary: { ...found.stored.summary, status: 'quarantined' } }
            : { version: Number.MAX_SAFE_INTEGER, summary: placeholderSummary(runId) };
        await this.#index(runId, view);
      }
    } catch {
      // Best effort (see above).
    }
    return new CorruptRecordError(runId, key, detail);
  }

  async #journalEntry(runId: string, k: RunKeys, key: string, raw: string): Promise<JournalEntry> {
    const parsed = parseJson(JournalEntry, raw);
    if (!parsed.ok) throw await this.#corrupt(runId, `${k.journal}[${key}]`, parsed.detail);
    return parsed.value;
  }

  // ---- plumbing --------------------------------------------------------------

  #throwFenced(runId: string, fence: Fence, reply: unknown, script: ScriptName): never {
    switch (code(reply)) {
      case 'UNKNOWN_RUN':
        throw new UnknownRunError(runId);
      case 'STALE_LEASE':
        throw new StaleLeaseError(runId, fence.leaseToken, tokenOf(reply));
      default:
        throw unexpected(script, reply);
    }
  }

  #keys(runId: string): RunKeys {
    return runKeys(runId, this.#prefix);
  }

  #script(name: ScriptName, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    return this.#call(() => this.#batch.run(name, keys, args));
  }

  /** Every Redis call goes through here, so connection trouble always comes out as StoreUnavailableError. */
  async #call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw toStoreError(err, this.#secret);
    }
  }
}

// ---- helpers -----------------------------------------------------------------

type Parsed<T> = { ok: true; value: T } | { ok: false; detail: string };

/** JSON text through a zod schema, with a one-line reason when it does not parse. */
function parseJson<T>(schema: z.ZodType<T>, raw: string | null | undefined): Parsed<T> {
  if (typeof raw !== 'string') return { ok: false, detail: 'missing' };
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return { ok: false, detail: 'not JSON' };
  }
  const parsed = schema.safeParse(json);
  return parsed.success ? { ok: true, value: parsed.data } : { ok: false, detail: issues(parsed.error) };
}

function issues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
}

/** JSON text of a value bound for Redis; a value JSON cannot hold is a caller's bug, named here rather than stored as "undefined". */
function jsonOf(value: unknown, what: string): string {
  const json = JSON.stringify(value);
  if (json === undefined) throw new TypeError(`${what} is not JSON-serialisable`);
  return json;
}

function summaryJson(record: RunRecord): string {
  const stored: StoredSummary = { version: record.version, summary: record.summary };
  return JSON.stringify(stored);
}

function code(reply: unknown): unknown {
  return Array.isArray(reply) ? reply[0] : reply;
}

function field(reply: unknown, i: number): unknown {
  return Array.isArray(reply) ? reply[i] : undefined;
}

function expectOk(reply: unknown, script: ScriptName): void {
  if (code(reply) !== 'OK') throw unexpected(script, reply);
}

function unexpected(script: ScriptName, reply: unknown): Error {
  return new Error(`reins: script ${script} gave an unexpected reply ${JSON.stringify(reply)}`);
}

function tokenOf(reply: unknown): number | null {
  const t = field(reply, 1);
  return t === null || t === undefined ? null : Number(t);
}

function leaseOf(reply: unknown): Lease {
  return Lease.parse({ owner: field(reply, 1), token: Number(field(reply, 2)), expiresAt: Number(field(reply, 3)) });
}

/** The per-run keys after run, summary, quarantine and trace (the order retire-run.lua expects). */
function retireOtherKeys(k: RunKeys): string[] {
  return allRunKeys(k).filter((key) => key !== k.run && key !== k.summary && key !== k.quarantine && key !== k.trace);
}

/** A queued command as send-command.lua stores it: its id first, then the Command's fields. */
const StoredCommand = z.intersection(z.object({ seq: z.number().int().positive() }), Command);

/** What retire-run.lua answers. */
const RetireReply = z.enum(['deleted', 'trace-dropped', 'no-trace', 'ineligible']);

/** `[member, score, …]` (RESP2) or `[[member, score], …]` (RESP3) as pairs. */
function scored(reply: unknown): { runId: string; score: number }[] {
  const items = Array.isArray(reply) ? (reply as unknown[]) : [];
  const out: { runId: string; score: number }[] = [];
  if (items.length > 0 && Array.isArray(items[0])) {
    for (const pair of items as [string, string | number][]) out.push({ runId: String(pair[0]), score: Number(pair[1]) });
  } else {
    for (let i = 0; i + 1 < items.length; i += 2) out.push({ runId: String(items[i]), score: Number(items[i + 1]) });
  }
  return out;
}

/** A stream entry's field, whether the client gives fields as `[name, value, …]` or as an object. */
function streamField(fields: unknown, name: string): string | undefined {
  if (Array.isArray(fields)) {
    const i = fields.indexOf(name);
    return i >= 0 && i % 2 === 0 ? (fields[i + 1] as string | undefined) : undefined;
  }
  if (fields && typeof fields === 'object') return (fields as Record<string, string | undefined>)[name];
  return undefined;
}

function isSafeRunId(runId: string): boolean {
  try {
    checkRunId(runId);
    return true;
  } catch {
    return false;
  }
}

/** What a listing shows for a quarantined run whose summary itself is unreadable. */
function placeholderSummary(runId: string): RunSummary {
  return {
    runId,
    agentId: '?',
    parentId: null,
    status: 'quarantined',
    state: '?',
    step: 0,
    turns: 0,
    activeTool: null,
    costUsd: 0,
    reason: null,
    createdAt: 0,
    updatedAt: 0,
  };
}

/** The reply, or an error once `ms` pass without one. */
function answered<T>(reply: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([reply, late]).finally(() => clearTimeout(timer));
}

/** Closes a connection politely when it is up, at once when it is not (QUIT would wait for a reconnect). */
async function quit(client: Redis | Cluster): Promise<void> {
  if (client.status === 'ready') {
    try {
      await client.quit();
      return;
    } catch {
      // Fall through to a hard disconnect.
    }
  }
  client.disconnect();
}
