import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { SliceQueue } from '../../agents/fleet/slice-queue.js';
import { Supervisor } from '../../agents/supervisor.js';
import { RedisStore } from '../../persistence/redis-store.js';
import { canSpawnWorkers, freshPrefix, waitUntil } from '../crash/harness.js';
import { fleetAgents, SyncedLedger } from './agents.js';
import { auditTurns } from './audit.js';
import { spawnFleetWorker, type FleetProcess } from './processes.js';
import type { SliceEdge } from './protocol.js';

/**
 * The per-tenant cap on concurrent slices (the store's shared limiter), across
 * worker processes with room for more: tenant A submits a backlog, tenant B a
 * few runs after it. From every worker's ledger of slice starts and ends, A
 * (and B) never hold more than the cap at once, the fleet did run A and B side
 * by side, and B's runs are not starved behind A's backlog.
 *
 * Sizes: TENANT_CAP, TENANT_A_RUNS, TENANT_B_RUNS.
 */
const CAP = Number(process.env.TENANT_CAP ?? 1);
const A_RUNS = Number(process.env.TENANT_A_RUNS ?? 6);
const B_RUNS = Number(process.env.TENANT_B_RUNS ?? 3);
const WORKERS = 2;
const CONCURRENCY = 3;

/** The most slices of runs matching `mine` in hand at once, from start/end edges (an end and a start at the same instant: the end first). */
function mostInHand(edges: readonly SliceEdge[], mine: (runId: string) => boolean): number {
  const sorted = edges.filter((e) => mine(e.runId)).sort((x, y) => x.at - y.at || (x.edge === 'end' ? -1 : 1));
  let inHand = 0;
  let most = 0;
  for (const e of sorted) {
    inHand += e.edge === 'start' ? 1 : -1;
    most = Math.max(most, inHand);
  }
  return most;
}

describe.skipIf(!canSpawnWorkers())('the per-tenant cap on concurrent slices', () => {
  const workers: FleetProcess[] = [];
  let dir: string;
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.kill9()));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it(`tenant A's ${A_RUNS} runs never hold more than ${CAP} slice(s) at once on ${WORKERS} workers of ${CONCURRENCY}; B's runs go alongside, not after`, async () => {
    const url = inject('redisUrl');
    const prefix = freshPrefix('tenant');
    dir = mkdtempSync(join(tmpdir(), 'reins-tenant-'));
    const store = new RedisStore({ url, prefix });
    const queue = new SliceQueue({ url, prefix });
    const ledger = new SyncedLedger(dir);
    const client = await Supervisor.open({ store, agents: fleetAgents(ledger), queue, workerId: 'client' });
    try {
      for (let i = 0; i < WORKERS; i++) workers.push(spawnFleetWorker({ url, prefix, ledgerDir: dir, concurrency: CONCURRENCY, leaseMs: 3_000, sliceTurns: 4, tenantCap: CAP }));
      await Promise.all(workers.map((w) => w.ready));
      const a = Array.from({ length: A_RUNS }, (_, i) => `a${i}`);
      const b = Array.from({ length: B_RUNS }, (_, i) => `b${i}`);
      // A's backlog is queued first, in full; B's runs come after it.
      for (const id of a) await client.submit('turns', { runId: id, tenant: 'A' });
      for (const id of b) await client.submit('turns', { runId: id, tenant: 'B' });
      await waitUntil(async () => (await store.list({ status: 'done' })).length === A_RUNS + B_RUNS, 300_000, 'every run to end', 200);
      await waitUntil(() => workers.every((w) => w.slices.filter((e) => e.edge === 'start').length === w.slices.filter((e) => e.edge === 'end').length), 10_000, 'every slice end reported');

      const audit = await auditTurns(store, [...a, ...b], dir);
      expect(audit.wrongEffects).toEqual([]);
      expect(audit.byReason).toEqual({ COMPLETED: A_RUNS + B_RUNS });

      const edges = workers.flatMap((w) => w.slices);
      const ofA = (runId: string) => runId.startsWith('a');
      const ofB = (runId: string) => runId.startsWith('b');
      const most = { A: mostInHand(edges, ofA), B: mostInHand(edges, ofB), all: mostInHand(edges, () => true) };
      const times = (mine: (runId: string) => boolean, edge: SliceEdge['edge']) => edges.filter((e) => mine(e.runId) && e.edge === edge).map((e) => e.at);
      const aEnds = Math.max(...times(ofA, 'end'));
      const firstStarts = b.map((id) => Math.min(...times((r) => r === id, 'start')));
      console.log(`[tenant-cap] cap=${CAP} slices A=${times(ofA, 'start').length} B=${times(ofB, 'start').length} most in hand ${JSON.stringify(most)}; B's first slices ${firstStarts.map((t) => `${Math.round(t - Math.min(...times(ofA, 'start')))} ms`).join(', ')} after A's first`);
      expect(most.A).toBe(CAP);
      expect(most.B).toBeLessThanOrEqual(CAP);
      // The workers had room (6 slots): A's cap, not the fleet, held A back, and B ran beside it.
      expect(most.all).toBeGreaterThan(CAP);
      // Not starved: every B run started, and all of B ended, while A's backlog was still being worked.
      for (const start of firstStarts) expect(start).toBeLessThan(aEnds);
      expect(Math.max(...times(ofB, 'end'))).toBeLessThan(aEnds);
    } finally {
      await client.close();
      await queue.close();
      await store.close();
      ledger.close();
    }
  }, 600_000);
});
