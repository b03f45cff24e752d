import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SliceQueue } from '../../agents/fleet/slice-queue.js';
import { Supervisor } from '../../agents/supervisor.js';
import { fleetKeys, hashSlot, hashTag, indexKeys, runKeys } from '../../persistence/redis/keys.js';
import { RedisStore } from '../../persistence/redis-store.js';
import { canSpawnWorkers, waitUntil } from '../crash/harness.js';
import { reins } from '../cli/run-cli.js';
import { startRedisCluster, type RedisCluster } from '../support/redis-cluster.js';
import { hasRedisServer } from '../support/redis-server.js';
import { fleetAgents, readLedger, SyncedLedger } from './agents.js';
import { auditTurns } from './audit.js';
import { spawnFleetWorker, type FleetProcess } from './processes.js';

/**
 * The fleet on a real Redis Cluster of three masters: the store (runs,
 * journals, leases, index, commands) and the BullMQ queue all go through
 * ioredis' `Cluster`, so any script whose keys span two slots, or any key
 * built outside its hash tag, fails here with CROSSSLOT or MOVED. Worker
 * processes take the slices; one is SIGKILLed half way and replaced; runs
 * rest for approval and this process approves them; the CLI reads the fleet
 * through `--store redis-cluster://…`.
 *
 * Sizes: CLUSTER_RUNS (20-turn runs), CLUSTER_APPROVALS.
 */
const RUNS = Number(process.env.CLUSTER_RUNS ?? 16);
const APPROVALS = Number(process.env.CLUSTER_APPROVALS ?? 6);
const PREFIX = 'cl';
const WAIT_MS = Number(process.env.CLUSTER_WAIT_MS ?? 300_000);

describe.skipIf(!canSpawnWorkers() || !hasRedisServer())('the fleet on a three-master Redis Cluster', () => {
  let cluster: RedisCluster;
  let dir: string;
  const workers: FleetProcess[] = [];
  const spawnOne = () => {
    const w = spawnFleetWorker({ cluster: cluster.startNodes, prefix: PREFIX, ledgerDir: dir, concurrency: 8, leaseMs: 3_000, sliceTurns: 8 });
    workers.push(w);
    return w;
  };

  beforeAll(async () => {
    cluster = await startRedisCluster();
    dir = mkdtempSync(join(tmpdir(), 'reins-fleet-cluster-'));
  }, 120_000);
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.kill9()));
    await cluster?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it(`${RUNS} runs and ${APPROVALS} approvals live their whole life on it: typed outcomes, each effect once, every key in its hash tag's slot`, async () => {
    const redis = new Cluster([...cluster.startNodes]);
    const store = new RedisStore({ redis, prefix: PREFIX });
    const queue = new SliceQueue({ redis, prefix: PREFIX });
    const ledger = new SyncedLedger(dir);
    const client = await Supervisor.open({ store, agents: fleetAgents(ledger), queue, workerId: 'client' });
    /** What the store, the queue and the workers say, for a failure message. */
    const diagnosis = async () => {
      const runs = (await store.list()).filter((r) => r.status !== 'done').map((r) => `${r.runId} ${r.status} ${r.state}`);
      const failed = (await Promise.all((await queue.queues()).map((q) => q.getFailed()))).flat().map((j) => `${j.id}: ${j.failedReason}`);
      return [`unfinished: ${runs.join(', ')}`, `queue: ${JSON.stringify(await queue.depth())}`, `failed jobs: ${failed.join('; ')}`, ...workers.map((w) => w.stderr().slice(-2_000))].join('\n');
    };
    const storeFlag = `redis-cluster://${cluster.startNodes.map((n) => `${n.host}:${n.port}`).join(',')}?prefix=${PREFIX}`;
    try {
      const fleet = [spawnOne(), spawnOne()];
      await Promise.all(fleet.map((w) => w.ready));
      const turns = Array.from({ length: RUNS }, (_, i) => `c${i}`);
      const approvals = Array.from({ length: APPROVALS }, (_, i) => `ca${i}`);
      await Promise.all([...turns.map((id) => client.submit('turns', { runId: id })), ...approvals.map((id) => client.submit('approval', { runId: id }))]);

      /**
       * Runs ended and runs resting for approval, from one listing of every run: it reads each run's own summary, so
       * a run whose worker was killed between its last commit and its index write (another slot) counts as it is,
       * where a listing by status would go on finding it under `running`.
       */
      const census = async () => {
        const all = await store.list();
        return { ended: all.filter((r) => r.status === 'done').length, resting: all.filter((r) => r.status === 'running' && r.state === 'awaitingApproval').length };
      };
      // Half way through, one worker dies; a new one takes its place and its runs over.
      await waitUntil(async () => (await census()).ended >= RUNS / 2, WAIT_MS, 'half the runs to end', 100);
      await fleet[0]!.kill9();
      await spawnOne().ready;

      await waitUntil(async () => JSON.stringify(await census()) === JSON.stringify({ ended: RUNS, resting: APPROVALS }), WAIT_MS, 'every run to end or rest', 200).catch(async (error: unknown) => {
        throw new Error(`${(error as Error).message}\n${await diagnosis()}`);
      });
      await waitUntil(async () => (await queue.depth()).active === 0, 30_000, 'the workers to let go of their last slices', 50);
      const live = workers.filter((w) => w.child.exitCode === null && w.child.signalCode === null);
      expect(await Promise.all(live.map((w) => w.holdings()))).toEqual(live.map(() => ({ inHand: 0, hosted: 0 })));

      // The CLI reads the fleet through the cluster: workers with their heartbeats, the queue by state.
      const seen = await reins(['workers', '--json', '--store', storeFlag]);
      expect(seen.stderr).toBe('');
      const fleetView = JSON.parse(seen.stdout) as { workers: { inHand: number }[]; queue: Record<string, number> };
      expect(fleetView.workers.length).toBeGreaterThanOrEqual(2);
      expect(fleetView.queue).toMatchObject({ waiting: 0, active: 0, delayed: APPROVALS, failed: 0 });

      for (const id of approvals) await client.approve(id, 'alice');
      await waitUntil(async () => (await census()).ended === RUNS + APPROVALS, WAIT_MS, 'every approved run to end', 200);

      const audit = await auditTurns(store, turns, dir);
      expect.soft(audit.unfinished).toEqual([]);
      expect.soft(audit.wrongEffects).toEqual([]);
      expect.soft(audit.fencingViolations).toEqual([]);
      expect(audit.byReason).toEqual({ COMPLETED: RUNS });
      for (const id of approvals) expect((await store.load(id))?.outcome).toMatchObject({ reason: 'COMPLETED', result: 'charged' });
      const charges = readLedger(dir);
      expect(approvals.map((id) => charges.get(`${id}|a1`)?.apply)).toEqual(approvals.map(() => 1));

      // Every key the fleet wrote is in its hash tag's slot: a run's keys in the run's, the queue's in `{cl}`, the index in `{index}`.
      const keys = (await Promise.all(redis.nodes('master').map((node) => node.keys('*')))).flat();
      const bySlot = new Map<number, string[]>();
      for (const key of keys) bySlot.set(hashSlot(key), [...(bySlot.get(hashSlot(key)) ?? []), key]);
      const queueSlot = hashSlot(fleetKeys(PREFIX).queuePrefix);
      expect(keys.filter((k) => k.startsWith('{cl}:slices:')).length).toBeGreaterThan(0);
      for (const key of keys) {
        const tag = hashTag(key);
        if (key.startsWith('{cl}:')) expect(hashSlot(key)).toBe(queueSlot);
        else if (key.startsWith(`${PREFIX}:{index}`)) expect(tag).toBe('index');
        else expect([...turns, ...approvals, 'approvals'].includes(tag) || tag.startsWith('rate:'), key).toBe(true);
      }
      const c0 = Object.values(runKeys('c0', PREFIX)).filter((k) => keys.includes(k));
      expect(c0.length).toBeGreaterThan(3);
      expect(new Set(c0.map(hashSlot)).size).toBe(1);
      // The cluster really spread the runs: their slots are served by all three masters.
      const served = await Promise.all(redis.nodes('master').map(async (node) => (await node.dbsize()) > 0));
      expect(served).toEqual([true, true, true]);
      expect(keys.includes(indexKeys(PREFIX).all)).toBe(true);

      // reins stats reads the index and the queue by state through the cluster too.
      const stats = await reins(['stats', '--json', '--store', storeFlag]);
      expect(stats.stderr).toBe('');
      expect(JSON.parse(stats.stdout)).toMatchObject({ runs: RUNS + APPROVALS, active: 0, queue: { waiting: 0, active: 0, prioritized: 0, failed: 0 } });
    } finally {
      await client.close();
      await queue.close();
      await store.close();
      ledger.close();
      redis.disconnect();
    }
  }, 900_000);
});
