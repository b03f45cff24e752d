import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import { FleetWorker } from '../../agents/fleet/worker.js';
import { SliceQueue } from '../../agents/fleet/slice-queue.js';
import type { SliceEnd, SliceLimits } from '../../agents/fleet/slice.js';
import { Supervisor } from '../../agents/supervisor.js';
import { RedisStore } from '../../persistence/redis-store.js';
import type { SnapshotStore } from '../../persistence/store.js';
import { freshPrefix } from '../crash/harness.js';
import { fleetHostables, SyncedLedger } from './agents.js';

const cleanups: Array<() => Promise<void> | void> = [];

/** Closes everything the fleets of the test that ended opened (call it in afterEach). */
export async function closeFleets(): Promise<void> {
  while (cleanups.length) await cleanups.pop()!();
}

/**
 * A store, a ledger, a submitting supervisor and `workers` in-process fleet workers (4 slices each, leases of 3 s,
 * no sweeper) on a fresh prefix of the suite's Redis; every slice's end is kept in `ends`; `workerStore` wraps the
 * store the workers see.
 */
export async function inProcessFleet(workers: number, slice: SliceLimits = {}, workerStore = (store: SnapshotStore) => store) {
  const url = inject('redisUrl');
  const prefix = freshPrefix('fleet');
  const dir = mkdtempSync(join(tmpdir(), 'reins-fleet-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const ledger = new SyncedLedger(dir);
  cleanups.push(() => ledger.close());
  const store = new RedisStore({ url, prefix });
  cleanups.push(() => store.close());
  const queue = new SliceQueue({ url, prefix });
  cleanups.push(() => queue.close());
  const client = await Supervisor.open({ store, agents: fleetHostables(ledger), queue, workerId: 'client' });
  cleanups.push(() => client.close());
  const ends: Array<{ runId: string; end: SliceEnd }> = [];
  const started: FleetWorker[] = [];
  const supervisors: Supervisor[] = [];
  for (let i = 0; i < workers; i++) {
    const supervisor = await Supervisor.open({ store: workerStore(store), agents: fleetHostables(ledger), queue, workerId: `w${i}`, leaseMs: 3_000 });
    const worker = await FleetWorker.start({ supervisor, connection: { url, prefix }, concurrency: 4, slice, sweepEveryMs: 0, onSlice: (runId, end) => ends.push({ runId, end }) });
    cleanups.push(() => supervisor.close());
    cleanups.push(() => worker.close());
    started.push(worker);
    supervisors.push(supervisor);
  }
  return { store, queue, client, workers: started, supervisors, ends, dir, prefix };
}
