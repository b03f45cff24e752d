/**
 * Every Redis key and channel RedisStore uses is built here, and nowhere else.
 *
 * Layout (prefix `reins` by default):
 *
 *   reins:{<runId>}:run              string  the RunRecord JSON (the truth)
 *   reins:{<runId>}:summary          string  {version, summary} written with the record, so listing never parses snapshots
 *                                            (derived data: rebuilt from the record when it does not parse)
 *   reins:{<runId>}:lease            hash    owner, token, expiresAt (kept after release with expiresAt 0: tokens only grow)
 *   reins:{<runId>}:journal          hash    idempotency key -> JournalEntry JSON
 *   reins:{<runId>}:transcript       list    message JSON, oldest first
 *   reins:{<runId>}:transcript:step  string  the last model step appended (appends are exactly-once per step)
 *   reins:{<runId>}:trace            stream  TraceEntry JSON in field `e`, capped with XADD MAXLEN ~ traceCap
 *   reins:{<runId>}:commands         list    queued operator Command JSON, each with its id first: {"seq":N,...}
 *   reins:{<runId>}:commands:seq     string  the last command id given out (ids only grow)
 *   reins:{<runId>}:quarantine       string  why the run was quarantined (its record is left as it was)
 *
 *   reins:{index}:entries            hash    runId -> {v: version, keys: [index keys the run is in]}
 *   reins:{index}:all                zset    runId scored by updatedAt
 *   reins:{index}:status:<status>    zset    same, per status (quarantined included)
 *   reins:{index}:agent:<agentId>    zset    same, per agent
 *   reins:{index}:reason:<reason>    zset    same, per terminal reason
 *   reins:{index}:parent:<parentId>  zset    same, per parent run
 *
 *   reins:commands                   pub/sub channel; the message is the run id
 *
 * The `{...}` part is the Redis Cluster hash tag: all keys of one run share
 * one slot, and all index keys share another, so each Lua script touches one
 * slot only. Run ids cannot contain braces (see run-id.ts), and neither can
 * the prefix, so the tag is always the intended one.
 */

/** The default key prefix; another prefix isolates several deployments (or test files) in one Redis. */
export const DEFAULT_PREFIX = 'reins';

/** The keys of one run, all under the hash tag `{runId}`. */
export interface RunKeys {
  readonly run: string;
  readonly summary: string;
  readonly lease: string;
  readonly journal: string;
  readonly transcript: string;
  readonly transcriptStep: string;
  readonly trace: string;
  readonly commands: string;
  readonly commandSeq: string;
  readonly quarantine: string;
}

/** Refuses a prefix that would break hash tags or key parsing. */
export function checkPrefix(prefix: string): string {
  if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(prefix)) {
    throw new TypeError(`Redis key prefix must be 1-64 characters: letters, digits, _ . : - (got ${JSON.stringify(prefix.slice(0, 80))})`);
  }
  return prefix;
}

/** Keys of one run. The caller has checked the run id (checkRunId). */
export function runKeys(runId: string, prefix: string = DEFAULT_PREFIX): RunKeys {
  const base = `${prefix}:{${runId}}`;
  return {
    run: `${base}:run`,
    summary: `${base}:summary`,
    lease: `${base}:lease`,
    journal: `${base}:journal`,
    transcript: `${base}:transcript`,
    transcriptStep: `${base}:transcript:step`,
    trace: `${base}:trace`,
    commands: `${base}:commands`,
    commandSeq: `${base}:commands:seq`,
    quarantine: `${base}:quarantine`,
  };
}

/** All keys of one run, for deleting it. */
export function allRunKeys(keys: RunKeys): string[] {
  return [keys.run, keys.summary, keys.lease, keys.journal, keys.transcript, keys.transcriptStep, keys.trace, keys.commands, keys.commandSeq, keys.quarantine];
}

/** The run index, all under the hash tag `{index}`. */
export interface IndexKeys {
  readonly entries: string;
  readonly all: string;
  status(status: string): string;
  agent(agentId: string): string;
  reason(reason: string): string;
  parent(parentId: string): string;
}

/** Keys of the run index. */
export function indexKeys(prefix: string = DEFAULT_PREFIX): IndexKeys {
  const base = `${prefix}:{index}`;
  return {
    entries: `${base}:entries`,
    all: `${base}:all`,
    status: (s) => `${base}:status:${s}`,
    agent: (a) => `${base}:agent:${a}`,
    reason: (r) => `${base}:reason:${r}`,
    parent: (p) => `${base}:parent:${p}`,
  };
}

/** The facts a run is indexed by. */
export interface IndexFacts {
  readonly status: string;
  readonly agentId: string;
  readonly reason: string | null;
  readonly parentId: string | null;
}

/** The index sets a run with these facts belongs in. */
export function indexSetsFor(facts: IndexFacts, prefix: string = DEFAULT_PREFIX): string[] {
  const ix = indexKeys(prefix);
  const sets = [ix.all, ix.status(facts.status), ix.agent(facts.agentId)];
  if (facts.reason !== null) sets.push(ix.reason(facts.reason));
  if (facts.parentId !== null) sets.push(ix.parent(facts.parentId));
  return sets;
}

/** Keys of the approval queue: one slot (`{approvals}`), so a decision moves an item between status sets atomically. */
export interface ApprovalKeys {
  item(itemId: string): string;
  status(status: string): string;
}

/** Keys of the approval queue. */
export function approvalKeys(prefix: string = DEFAULT_PREFIX): ApprovalKeys {
  const base = `${prefix}:{approvals}`;
  return { item: (id) => `${base}:item:${encodeURIComponent(id)}`, status: (st) => `${base}:status:${st}` };
}

/** Keys of one rate-limit bucket, hash-tagged by the bucket (user text is encoded so it cannot open a hash tag). */
export function rateKeys(key: string, prefix: string = DEFAULT_PREFIX): { tat: string; holders: string } {
  const base = `${prefix}:{rate:${encodeURIComponent(key)}}`;
  return { tat: `${base}:tat`, holders: `${base}:holders` };
}

/** The pub/sub channel on which sendCommand announces a run id. */
export function commandChannel(prefix: string = DEFAULT_PREFIX): string {
  return `${prefix}:commands`;
}

/** The part of a key Redis Cluster hashes: the first non-empty `{...}`, else the whole key. */
export function hashTag(key: string): string {
  const open = key.indexOf('{');
  if (open === -1) return key;
  const close = key.indexOf('}', open + 1);
  if (close === -1 || close === open + 1) return key;
  return key.slice(open + 1, close);
}

/** The Redis Cluster slot of a key (CRC16/XMODEM of its hash tag, mod 16384), as CLUSTER KEYSLOT computes it. */
export function hashSlot(key: string): number {
  let crc = 0;
  for (const byte of Buffer.from(hashTag(key))) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % 16_384;
}

/**
 * Keys of the fleet's dispatch (BullMQ) beside a store with this prefix:
 * - the BullMQ prefix `{<prefix>}`, so every key of the slice queue
 *   (`{reins}:slices:wait`, `…:active`, …) shares one Cluster slot and each
 *   BullMQ script stays in it;
 * - `<prefix>:{<runId>}:fleet`, a hash in the run's own slot: `slices`
 *   numbers the run's slices, `tenant` and `priority` go with every job,
 *   `route` names the queue of the versions it was stored by;
 * - `{<prefix>}:fleet:workers`, the workers' heartbeats (one hash);
 * - `{<prefix>}:fleet:routes`, every route a run was ever queued on (a set).
 */
export function fleetKeys(prefix: string = DEFAULT_PREFIX): { queuePrefix: string; workers: string; routes: string; run(runId: string): string } {
  return {
    queuePrefix: `{${prefix}}`,
    workers: `{${prefix}}:fleet:workers`,
    routes: `{${prefix}}:fleet:routes`,
    run: (runId) => `${prefix}:{${runId}}:fleet`,
  };
}
