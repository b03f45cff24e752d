/**
 * A crash-test worker process: opens a Supervisor on the store named in
 * argv[2] (JSON WorkerConfig), hosts the agents of test/crash/agents.ts, and
 * takes orders from its parent over IPC. It may be SIGKILLed, SIGSTOPped or
 * kill itself at a seeded crash point; it never cleans up after itself.
 *
 *   node --import tsx test/crash/worker.ts '<WorkerConfig JSON>'
 */
import { Redis } from 'ioredis';
import { Supervisor } from '../../agents/supervisor.js';
import type { AgentRun } from '../../agents/agent-run.js';
import { RedisStore } from '../../persistence/redis-store.js';
import type { Fence, RunCommit, SnapshotStore } from '../../persistence/store.js';
import { buildAgents, prng } from './agents.js';
import { openLedger } from './effects.js';
import type { CallMessage, CrashPoint, GoMessage, StoreSpec, WorkerConfig, WorkerMessage } from './protocol.js';

const config = JSON.parse(process.argv[2] ?? '{}') as WorkerConfig;

function send(message: WorkerMessage): void {
  if (process.connected) process.send?.(message);
}

// The parent is gone: nothing more to do here (no orphaned workers).
process.on('disconnect', () => process.exit(0));
process.on('unhandledRejection', (error) => {
  process.stderr.write(`worker ${process.pid}: unhandled rejection: ${(error as Error)?.stack ?? String(error)}\n`);
  send({ type: 'error', message: `unhandled rejection: ${(error as Error)?.message ?? String(error)}` });
});

/** The crash point of this worker once armed by `go`: ops (of every store it hosts) are counted from then on. */
let crash: CrashPoint | null = null;
let ops = 0;

function die(): never {
  process.kill(process.pid, 'SIGKILL');
  // SIGKILL to oneself is delivered before this returns on Linux; never reached.
  throw new Error('unreachable');
}

/** Counts one I/O operation on store `index`; kills the process before it, or once it has been answered, at the crash point. */
function countOp<T>(index: number, perform: () => Promise<T>): Promise<T> {
  if (crash === null || (crash.store ?? 0) !== index) return perform();
  const n = ++ops;
  if (n !== crash.op) return perform();
  if (crash.when === 'before') die();
  const result = perform();
  result.then(die, die);
  return result;
}

/** A Redis client that counts every command it sends (EVALSHA, GET, …): the crash points of RedisStore. */
function countingRedis(url: string, index: number): Redis {
  // The connection options RedisStore uses for its own clients.
  const redis = new Redis(url, { maxRetriesPerRequest: 1, connectTimeout: 3_000, commandTimeout: 10_000, retryStrategy: (times) => Math.min(times * 100, 2_000) });
  const original = redis.sendCommand.bind(redis) as (command: { promise: Promise<unknown> }, stream?: unknown) => unknown;
  (redis as unknown as { sendCommand: typeof original }).sendCommand = (command, stream) => {
    if (crash === null || (crash.store ?? 0) !== index) return original(command, stream);
    const n = ++ops;
    if (n === crash.op) {
      if (crash.when === 'before') die();
      command.promise.then(die, die);
    }
    return original(command, stream);
  };
  return redis;
}

/** Wraps every store method in countOp (FileStore: one crash point per store call). */
function countingStore(store: SnapshotStore, index: number): SnapshotStore {
  return new Proxy(store, {
    get(target, prop) {
      const value = Reflect.get(target, prop) as unknown;
      if (typeof value !== 'function') return value;
      // Private fields need the real object as `this`.
      if (prop === 'close' || prop === 'watchCommands') return (value as (...a: unknown[]) => unknown).bind(target);
      return (...args: unknown[]) => countOp(index, () => (value as (...a: unknown[]) => Promise<unknown>).apply(target, args));
    },
  });
}

/** Reports every fenced write and lease call with its outcome (the lease test checks whose writes landed). */
function reportingStore(store: SnapshotStore): SnapshotStore {
  const reported = new Set(['create', 'save', 'commit', 'journalStart', 'journalDone', 'journalTrim', 'transcriptAppend', 'traceAppend', 'renewLease', 'acquireLease', 'releaseLease']);
  return new Proxy(store, {
    get(target, prop) {
      const value = Reflect.get(target, prop) as unknown;
      if (typeof value !== 'function') return value;
      if (!reported.has(String(prop))) return (value as (...a: unknown[]) => unknown).bind(target);
      return async (...args: unknown[]) => {
        const op = String(prop);
        type Rec = { version: number; summary: { runId: string } };
        const record = op === 'save' ? (args[0] as Rec) : op === 'commit' ? (args[0] as { record: Rec | null }).record : null;
        const runId = op === 'commit' ? (args[0] as { runId: string }).runId : op === 'create' ? (args[0] as Rec).summary.runId : record ? record.summary.runId : String(args[0]);
        const fence =
          op === 'save' || op === 'commit' ? args[1] : op === 'journalStart' ? args[3] : op === 'journalDone' ? args[4] : op === 'transcriptAppend' ? args[3] : op === 'journalTrim' ? args[2] : args[1];
        const token =
          fence && typeof fence === 'object' ? Number((fence as { leaseToken?: number; token?: number }).leaseToken ?? (fence as { token?: number }).token) : null;
        const at = Date.now();
        if (record && config.saveLatencyMs) await new Promise((r) => setTimeout(r, config.saveLatencyMs));
        try {
          const result = await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
          // A renewal or acquisition that returns null did not get the lease.
          const ok = !((op === 'renewLease' || op === 'acquireLease') && result === null);
          // A run is created already leased: its creation is its first holding.
          const got = (op === 'acquireLease' || op === 'create') && result ? (result as { token: number }).token : token;
          send({ type: 'write', op, runId, token: got, version: record?.version ?? null, ok, error: ok ? null : 'lease not held', at, doneAt: Date.now() });
          return result;
        } catch (error) {
          send({ type: 'write', op, runId, token, version: record?.version ?? null, ok: false, error: (error as Error).name + ': ' + (error as Error).message, at, doneAt: Date.now() });
          throw error;
        }
      };
    },
  });
}

/** Holds back every commit that acknowledges queued commands (after they were applied, before their effect is stored), reporting it. */
function holdingAcks(store: SnapshotStore): SnapshotStore {
  return new Proxy(store, {
    get(target, prop) {
      const value = Reflect.get(target, prop) as unknown;
      if (typeof value !== 'function') return value;
      if (prop !== 'commit') return (value as (...a: unknown[]) => unknown).bind(target);
      return (commit: RunCommit, fence: Fence) => {
        if (commit.ackCommands.length === 0) return target.commit(commit, fence);
        send({ type: 'holding', runId: commit.runId, commands: commit.ackCommands });
        return new Promise(() => undefined);
      };
    },
  });
}

async function openStore(spec: StoreSpec, index: number): Promise<SnapshotStore> {
  if (spec.kind === 'redis') return new RedisStore({ redis: countingRedis(spec.url, index), prefix: spec.prefix });
  const { FileStore } = await import('../../persistence/file-store.js');
  return countingStore(new FileStore({ dir: spec.dir }), index);
}

/** One store this worker hosts runs on: its Supervisor, and the ledger its agents' tools act on. */
interface Host {
  readonly store: SnapshotStore;
  readonly ledger: ReturnType<typeof openLedger>;
  readonly supervisor: Supervisor;
  /** Supervisor calls that can host runs go one at a time: two overlapping ones could host one run twice in this process. */
  queue: Promise<unknown>;
}

async function openHost(spec: { store: StoreSpec; effects: WorkerConfig['effects']; jitterMs?: number | undefined }, i: number): Promise<Host> {
  const ledger = openLedger(spec.effects);
  const agents = buildAgents({
    ledger,
    rand: prng(config.seed + i),
    ...(config.slowMs !== undefined ? { slowMs: config.slowMs } : {}),
    ...(spec.jitterMs !== undefined ? { jitterMs: spec.jitterMs } : {}),
  });
  let store = await openStore(spec.store, i);
  if (config.reportWrites) store = reportingStore(store);
  if (config.holdCommandAcks) store = holdingAcks(store);
  const supervisor = await Supervisor.open({
    store,
    agents,
    leaseMs: config.leaseMs,
    ...(config.workerId ? { workerId: config.workerId } : {}),
    ...(config.writeRetry ? { writeRetry: config.writeRetry } : {}),
  });
  return { store, ledger, supervisor, queue: Promise.resolve() };
}

const hosts = await Promise.all([{ store: config.store, effects: config.effects, jitterMs: config.jitterMs }, ...(config.also ?? [])].map(openHost));
const primary = hosts[0]!;
const supervisor = primary.supervisor;

function serial<T>(host: Host, fn: () => Promise<T>): Promise<T> {
  const next = host.queue.then(fn, fn);
  host.queue = next.catch(() => undefined);
  return next;
}

const watched = new WeakSet<AgentRun>();
function watch(run: AgentRun | null): string | null {
  if (!run) return null;
  if (!watched.has(run)) {
    watched.add(run);
    void run.outcome.then((outcome) => send({ type: 'outcome', runId: run.runId, outcome }));
  }
  return run.runId;
}

async function go(message: GoMessage): Promise<void> {
  crash = message.crashAt;
  ops = 0;
  const recover = (host: Host) =>
    serial(host, async () => {
      const runs = await host.supervisor.recover();
      if (runs.length > 0) send({ type: 'recovered', runIds: runs.map((r) => watch(r)!) });
    });
  // Each store's new runs start side by side (FileStore creates fsync), and before any recovery in this process.
  const starts = hosts.map((host, i) =>
    serial(host, () =>
      Promise.all(
        message.start
          .filter((r) => (r.store ?? 0) === i)
          .map(async ({ runId, agentId }) => {
            watch(await host.supervisor.start(agentId, { runId }));
            send({ type: 'started', runId });
          }),
      ),
    ),
  );
  for (const host of hosts) {
    void recover(host);
    setInterval(() => void recover(host), message.recoverEveryMs);
  }
  await Promise.all(starts);
}

async function call(message: CallMessage): Promise<unknown> {
  const a = message.args as string[];
  switch (message.method) {
    case 'start':
      return serial(primary, async () => watch(await supervisor.start(a[0]!, { runId: a[1]! })));
    case 'recover':
      return serial(primary, async () => (await supervisor.recover()).map((r) => watch(r)));
    case 'resume':
      return serial(primary, async () => watch(await supervisor.resume(a[0]!, a[1] ?? 'operator')));
    case 'pause':
      return supervisor.pause(a[0]!, a[1]!, a[2]!);
    case 'kill':
      return supervisor.kill(a[0]!, a[1]!, a[2]!);
    case 'hosted':
      return supervisor.hosted().map((r) => r.runId);
    case 'close':
      for (const host of hosts) {
        await host.supervisor.close({ timeoutMs: 1_000 });
        await host.store.close();
        await host.ledger.close();
      }
      return null;
  }
}

process.on('message', (raw: GoMessage | CallMessage) => {
  if (raw.type === 'go') {
    go(raw).catch((error: unknown) => send({ type: 'error', message: `go: ${(error as Error).stack ?? String(error)}` }));
    return;
  }
  call(raw).then(
    (value) => send({ type: 'reply', id: raw.id, ok: true, value: value ?? null }),
    (error: unknown) => send({ type: 'reply', id: raw.id, ok: false, error: `${(error as Error).name}: ${(error as Error).message}` }),
  );
});

send({ type: 'ready', workerId: supervisor.workerId, pid: process.pid });
