import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, inject } from 'vitest';
import { FleetWorker } from '../../agents/fleet/worker.js';
import { SliceQueue } from '../../agents/fleet/slice-queue.js';
import type { SliceEnd } from '../../agents/fleet/slice.js';
import { Supervisor } from '../../agents/supervisor.js';
import { RedisStore } from '../../persistence/redis-store.js';
import { freshPrefix, waitUntil } from '../crash/harness.js';
import { FLEET_TURNS, fleetAgents, readLedger, SyncedLedger } from './agents.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** A store, a ledger, a submitting supervisor and `workers` in-process fleet workers on one prefix of the suite's Redis. */
async function fleet(workers: number, slice = {}) {
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
  const client = await Supervisor.open({ store, agents: fleetAgents(ledger), queue, workerId: 'client' });
  cleanups.push(() => client.close());
  const ends: Array<{ runId: string; end: SliceEnd }> = [];
  const started: FleetWorker[] = [];
  for (let i = 0; i < workers; i++) {
    const supervisor = await Supervisor.open({ store, agents: fleetAgents(ledger), queue, workerId: `w${i}`, leaseMs: 3_000 });
    const worker = await FleetWorker.start({ supervisor, connection: { url, prefix }, concurrency: 4, slice, sweepEveryMs: 0, onSlice: (runId, end) => ends.push({ runId, end }) });
    cleanups.push(() => supervisor.close());
    cleanups.push(() => worker.close());
    started.push(worker);
  }
  return { store, queue, client, workers: started, ends, dir };
}

describe('slices of runs on BullMQ', () => {
  it('submitted runs end COMPLETED, in slices of the limit, each charge once; the same run id twice is one run', async () => {
    const f = await fleet(2, { maxTurns: 7 });
    const ids = await Promise.all(Array.from({ length: 6 }, (_, i) => f.client.submit('turns', { runId: `s${i}` })));
    expect(await f.client.submit('turns', { runId: 's0' })).toBe('s0');
    await waitUntil(async () => (await f.store.list({ status: 'done' })).length === ids.length, 60_000, 'every run to end');
    for (const id of ids) {
      const record = await f.store.load(id);
      expect(record?.outcome).toMatchObject({ reason: 'COMPLETED', turns: FLEET_TURNS + 1 });
    }
    const ledger = readLedger(f.dir);
    const charges = [...ledger].filter(([, c]) => c.apply > 0);
    expect(charges.every(([, c]) => c.apply === 1)).toBe(true);
    // Every third turn charges: turns 3, 6, … 18.
    expect(charges.length).toBe(ids.length * Math.floor(FLEET_TURNS / 3));
    // 21 turns in slices of at most 7: three limits per run before it ends, never more (s0 was submitted twice).
    const limits = f.ends.filter((e) => e.end.kind === 'limit');
    expect(limits.length).toBe(ids.length * 2);
    expect(f.ends.filter((e) => e.end.kind === 'ended').length).toBe(ids.length);
  });

  it('a run waiting for approval holds no slot; approving it from another supervisor finishes it', async () => {
    const f = await fleet(1);
    const ids = await Promise.all(Array.from({ length: 5 }, (_, i) => f.client.submit('approval', { runId: `a${i}` })));
    await waitUntil(() => f.ends.filter((e) => e.end.kind === 'resting').length >= ids.length, 30_000, 'every run to rest');
    // A slice is told it ended a moment before its worker lets go of it, and BullMQ completes its job a moment after:
    // then nothing is in hand, and no job active, while every run waits.
    await waitUntil(async () => f.workers[0]!.inHand === 0 && (await f.queue.depth()).active === 0, 10_000, 'the worker to let go of its last slice');
    expect((await f.store.list({ status: 'done' })).length).toBe(0);
    for (const id of ids) await f.client.approve(id, 'alice');
    await waitUntil(async () => (await f.store.list({ status: 'done' })).length === ids.length, 30_000, 'every run to end');
    for (const id of ids) expect((await f.store.load(id))?.outcome).toMatchObject({ reason: 'COMPLETED' });
    expect([...readLedger(f.dir).values()].map((c) => c.apply)).toEqual(ids.map(() => 1));
  });
});
