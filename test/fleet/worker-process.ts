/**
 * A fleet-test worker process: a FleetWorker on the Redis (or Redis Cluster) named in argv[2]
 * (JSON FleetWorkerConfig), hosting the agents of test/fleet/agents.ts. Every
 * commit it makes carries a `fence` trace entry with its lease token, in the
 * same atomic write, so the test can check from the store alone that no run
 * was ever written by two hosts at once, and which worker wrote each slice.
 * It is SIGKILLed at will and never cleans up; on SIGTERM it stops the way a
 * deploy stops a worker: it finishes the slices in hand, then exits.
 *
 *   node --import tsx test/fleet/worker-process.ts '<FleetWorkerConfig JSON>'
 */
import { Cluster } from 'ioredis';
import { FleetWorker } from '../../agents/fleet/worker.js';
import { SliceQueue } from '../../agents/fleet/slice-queue.js';
import { Supervisor } from '../../agents/supervisor.js';
import { RedisStore } from '../../persistence/redis-store.js';
import type { SnapshotStore } from '../../persistence/store.js';
import { fleetHostables, SyncedLedger } from './agents.js';
import type { FleetWorkerConfig, FleetWorkerMessage, HoldingsRequest } from './protocol.js';

const config = JSON.parse(process.argv[2] ?? '{}') as FleetWorkerConfig;
const send = (m: FleetWorkerMessage) => process.connected && process.send?.(m);
process.on('disconnect', () => process.exit(0));

/** The store, with a `fence` trace entry (this worker, its token) riding in every commit. */
function fenceTracing(store: SnapshotStore, worker: () => string): SnapshotStore {
  return new Proxy(store, {
    get(target, prop) {
      const value = Reflect.get(target, prop) as unknown;
      if (typeof value !== 'function') return value;
      if (prop !== 'commit') return (value as (...a: unknown[]) => unknown).bind(target);
      const commit: SnapshotStore['commit'] = (c, fence) => target.commit({ ...c, trace: [...c.trace, { at: Date.now(), kind: 'fence', token: fence.leaseToken, worker: worker() }] }, fence);
      return commit;
    },
  });
}

const redis = config.cluster ? new Cluster([...config.cluster]) : undefined;
const connection = redis ? { redis, prefix: config.prefix } : { url: config.url, prefix: config.prefix };
const ledger = new SyncedLedger(config.ledgerDir);
let workerId = '';
const store = fenceTracing(new RedisStore(connection), () => workerId);
const queue = new SliceQueue(connection);
const supervisor = await Supervisor.open({ store, agents: fleetHostables(ledger, 4, config.release), queue, leaseMs: config.leaseMs });
workerId = supervisor.workerId;

// Slice edges for the test's ledger: a start once the run is hosted (after any tenant slot was taken), an end when the
// worker is told the slice ended (before the slot is given back). A slice whose run was held elsewhere never started.
const now = () => performance.timeOrigin + performance.now();
const hosting = new Set<string>();
const hostRun = supervisor.hostRun.bind(supervisor);
supervisor.hostRun = async (runId) => {
  const hosted = await hostRun(runId);
  if (hosted) hosting.add(runId), send({ type: 'slice', edge: 'start', runId, at: now() });
  return hosted;
};
const worker = await FleetWorker.start({
  supervisor,
  connection,
  concurrency: config.concurrency,
  slice: { maxTurns: config.sliceTurns },
  sweepEveryMs: 0,
  onSlice: (runId) => {
    if (hosting.delete(runId)) send({ type: 'slice', edge: 'end', runId, at: now() });
  },
  ...(config.tenantCap !== undefined ? { tenantCap: config.tenantCap } : {}),
  ...(config.heartbeatMs ? { heartbeatMs: config.heartbeatMs } : {}),
});

process.once('SIGTERM', () => {
  void (async () => {
    await worker.close();
    await supervisor.close();
    process.exit(0);
  })();
});
process.on('message', (m: HoldingsRequest) => {
  if (m.type === 'holdings') send({ type: 'holdings', id: m.id, inHand: worker.inHand, hosted: supervisor.runs().length });
});
send({ type: 'ready', workerId });
