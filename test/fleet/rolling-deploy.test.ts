import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SliceRoute } from '../../agents/fleet/queue-keys.js';
import { routesOf } from '../../agents/fleet/route.js';
import { SliceQueue } from '../../agents/fleet/slice-queue.js';
import { readWorkerBeats } from '../../agents/fleet/worker-beat.js';
import { Supervisor } from '../../agents/supervisor.js';
import { TerminalOutcome } from '../../machines/outcome.js';
import { RedisStore } from '../../persistence/redis-store.js';
import { canSpawnWorkers, waitUntil } from '../crash/harness.js';
import { startRedis, type RedisServer } from '../support/redis-server.js';
import { fleetAgents, readLedger, SyncedLedger, type FleetRelease } from './agents.js';
import { auditTurns } from './audit.js';
import { spawnFleetWorker, type FleetProcess } from './processes.js';

/**
 * A rolling deploy on the fleet, with worker processes: two workers on
 * release v1 of the agents host runs (some waiting for approval, some mid
 * flight), two workers on v2 (one tool added: another computed version)
 * start, new clients submit to v2, the approvals arrive while old clients
 * still submit to v1, and the old workers are stopped: gracefully once their
 * version's runs have drained, or SIGKILLed with runs in hand (those wait in
 * their version's queue, hosted by no one and refused by no one, until a v1
 * worker is back). Every run ends in its typed final state, every slice of a
 * run was written by a worker of its own version, and every effect happened
 * once.
 *
 * Sizes: DEPLOY_APPROVALS and DEPLOY_TURNS runs per release (defaults 12 and
 * 8: 40 runs).
 */
const APPROVALS = Number(process.env.DEPLOY_APPROVALS ?? 12);
const TURNS = Number(process.env.DEPLOY_TURNS ?? 8);
const CONCURRENCY = 8;
const LEASE_MS = 3_000;
const SLICE_TURNS = 4;
const WAIT_MS = 300_000;

describe.skipIf(!canSpawnWorkers())('a rolling deploy from v1 to v2 on a fleet of worker processes', () => {
  let redis: RedisServer;
  let dir: string;
  const workers: FleetProcess[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    dir = mkdtempSync(join(tmpdir(), 'reins-rolling-'));
  });
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.kill9()));
    await redis?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Starts a worker of `release` and returns it with its worker id once it takes slices. */
  async function startWorker(prefix: string, release: FleetRelease): Promise<{ process: FleetProcess; id: string }> {
    const w = spawnFleetWorker({ url: redis.url, prefix, ledgerDir: join(dir, prefix), concurrency: CONCURRENCY, leaseMs: LEASE_MS, sliceTurns: SLICE_TURNS, release });
    workers.push(w);
    return { process: w, id: await w.ready };
  }

  /** A client of one release (what that release's `reins submit` / `reins approve` would be): a Supervisor with the queue, hosting nothing. */
  async function client(prefix: string, release: FleetRelease) {
    const store = new RedisStore({ url: redis.url, prefix });
    const queue = new SliceQueue({ url: redis.url, prefix });
    const ledger = new SyncedLedger(join(dir, prefix));
    const agents = fleetAgents(ledger, 4, release);
    const supervisor = await Supervisor.open({ store, agents, queue, workerId: `client-${release}` });
    return {
      store,
      queue,
      supervisor,
      /** The route of each agent of this release. */
      route: (agentId: string): SliceRoute => routesOf(supervisor.definitions().find((d) => d.id === agentId)!).native,
      close: async () => {
        await supervisor.close();
        await queue.close();
        await store.close();
        ledger.close();
      },
    };
  }

  const ids = (prefix: string, release: string, kind: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${release}-${kind}-${i}`);

  async function deploy(stopOld: 'drain-then-sigterm' | 'sigkill-in-flight') {
    const prefix = stopOld === 'drain-then-sigterm' ? 'rolla' : 'rollb';
    const v1 = await client(prefix, 'v1');
    const v2 = await client(prefix, 'v2');
    expect(v1.route('approval').version).not.toBe(v2.route('approval').version);
    expect(v1.route('turns').version).not.toBe(v2.route('turns').version);

    const old = [await startWorker(prefix, 'v1'), await startWorker(prefix, 'v1')];
    const approvalsV1 = ids(prefix, 'v1', 'approval', APPROVALS);
    await Promise.all(approvalsV1.map((runId) => v1.supervisor.submit('approval', { runId })));
    const awaiting = async (runIds: readonly string[]) => (await Promise.all(runIds.map((id) => v1.store.load(id)))).every((r) => r?.summary.state === 'awaitingApproval');
    await waitUntil(() => awaiting(approvalsV1), WAIT_MS, 'every v1 run to wait for its approval', 100);

    // The new release's workers start; old clients still submit (to v1), new ones to v2.
    const fresh = [await startWorker(prefix, 'v2'), await startWorker(prefix, 'v2')];
    const beats = await readWorkerBeats(v2.queue.client, v2.queue.workersKey);
    expect(beats.map((b) => b.hosts.map((h) => h.version).sort())).toEqual(
      expect.arrayContaining([[v1.route('approval').version, v1.route('turns').version].sort(), [v2.route('approval').version, v2.route('turns').version].sort()]),
    );
    const turnsV1 = ids(prefix, 'v1', 'turns', TURNS);
    const approvalsV2 = ids(prefix, 'v2', 'approval', APPROVALS);
    const turnsV2 = ids(prefix, 'v2', 'turns', TURNS);
    await Promise.all([...approvalsV2.map((runId) => v2.supervisor.submit('approval', { runId })), ...turnsV2.map((runId) => v2.supervisor.submit('turns', { runId }))]);
    await waitUntil(() => awaiting(approvalsV2), WAIT_MS, 'every v2 run to wait for its approval', 100);

    // The approvals arrive, through the new release's client, for runs of both versions, while old clients still submit (to v1).
    await Promise.all([
      ...[...approvalsV1, ...approvalsV2].map((runId) => v2.supervisor.approve(runId, 'ops')),
      ...turnsV1.map((runId) => v1.supervisor.submit('turns', { runId })),
    ]);
    const v1Runs = [...approvalsV1, ...turnsV1];
    const unfinished = async (runIds: readonly string[]) => (await Promise.all(runIds.map((id) => v1.store.load(id)))).filter((r) => r?.summary.status !== 'done').length;
    let stranded = 0;
    if (stopOld === 'drain-then-sigterm') {
      // The deploy waits for v1's runs to drain (reins workers: the v1 queues empty, no v1 run unfinished), then stops the old workers.
      await waitUntil(async () => (await unfinished(v1Runs)) === 0, WAIT_MS, 'the v1 runs to drain on the v1 workers', 100);
      expect(await Promise.all(old.map((w) => w.process.term()))).toEqual([0, 0]);
    } else {
      // A crash mid-deploy: once the v1 approvals are taken (the decision committed), both old workers die with v1 runs in hand or queued.
      await waitUntil(async () => (await Promise.all(approvalsV1.map((id) => v1.store.load(id)))).every((r) => r?.summary.state !== 'awaitingApproval'), WAIT_MS, 'the v1 approvals to be taken', 20);
      await Promise.all(old.map((w) => w.process.kill9()));
      stranded = await unfinished(v1Runs);
      expect(stranded).toBeGreaterThan(0);
      // Their runs wait in v1's queues, taken by no live worker; the v2 workers never see them, so refuse none.
      const liveIds = new Set(fresh.map((w) => w.id));
      const live = (await readWorkerBeats(v2.queue.client, v2.queue.workersKey)).filter((b) => liveIds.has(b.id));
      const v1Versions = [v1.route('approval').version, v1.route('turns').version];
      const v1Queues = (await v2.queue.routes()).filter((r) => v1Versions.includes(r.route.version));
      expect(v1Queues.reduce((n, r) => n + r.depth.waiting + r.depth.active + r.depth.delayed + r.depth.prioritized, 0)).toBeGreaterThan(0);
      expect(v1Queues.reduce((n, r) => n + r.depth.failed, 0)).toBe(0);
      expect(live.flatMap((b) => [...b.hosts, ...b.adopts]).filter((h) => v1Versions.includes(h.version))).toEqual([]);
      expect(await unfinished(v1Runs)).toBe(stranded);
      // The operator brings one v1 worker back to drain them, then stops it.
      const back = await startWorker(prefix, 'v1');
      old.push(back);
      await waitUntil(async () => (await unfinished(v1Runs)) === 0, WAIT_MS, 'the stranded v1 runs to drain on a v1 worker', 100);
      expect(await back.process.term()).toBe(0);
    }
    await waitUntil(async () => (await unfinished([...approvalsV2, ...turnsV2])) === 0, WAIT_MS, 'the v2 runs to end', 100);

    // Every run ended in its typed final state; every slice of a run was written by a worker of its version.
    const workerRelease = new Map<string, FleetRelease>([...old.map((w) => [w.id, 'v1'] as const), ...fresh.map((w) => [w.id, 'v2'] as const)]);
    const hostsOf = async (runId: string) => new Set((await v1.store.traceRead(runId)).filter((e) => e.kind === 'fence').map((e) => workerRelease.get(String(e['worker']))));
    for (const [runIds, release] of [
      [v1Runs, 'v1'],
      [[...approvalsV2, ...turnsV2], 'v2'],
    ] as const) {
      for (const runId of runIds) {
        const record = await v1.store.load(runId);
        expect(TerminalOutcome.parse(record?.outcome).reason, runId).toBe('COMPLETED');
        expect([...(await hostsOf(runId))], runId).toEqual([release]);
      }
    }
    // Each effect once: every charge of every turns run, the approved charge of every approval run.
    const audit = await auditTurns(v1.store, [...turnsV1, ...turnsV2], join(dir, prefix));
    expect(audit).toMatchObject({ unfinished: [], wrongEffects: [], fencingViolations: [] });
    const ledger = readLedger(join(dir, prefix));
    expect([...approvalsV1, ...approvalsV2].filter((runId) => ledger.get(`${runId}|a1`)?.apply !== 1)).toEqual([]);
    // Nothing refused: no failed job on any route, no version error in any worker.
    expect((await v2.queue.depth()).failed).toBe(0);
    for (const w of [...old, ...fresh]) expect(w.process.stderr()).not.toMatch(/MachineMismatch|AgentVersionError|ChartVersionError/);
    console.log(`[rolling-deploy] ${stopOld}: ${v1Runs.length} v1 runs, ${approvalsV2.length + turnsV2.length} v2 runs; stranded by the kill ${stranded}; turns runs that changed hands ${audit.changedHands}`);
    await Promise.all(fresh.map((w) => w.process.term()));
    await v1.close();
    await v2.close();
  }

  it(`${2 * (APPROVALS + TURNS)} runs: old runs drain on the v1 workers, new ones run on v2; the v1 workers stopped with SIGTERM once drained`, async () => {
    await deploy('drain-then-sigterm');
  }, 2 * WAIT_MS);

  it(`${2 * (APPROVALS + TURNS)} runs: the v1 workers SIGKILLed with runs in hand; those wait in their queue, refused by nobody, until a v1 worker is back`, async () => {
    await deploy('sigkill-in-flight');
  }, 2 * WAIT_MS);
});
