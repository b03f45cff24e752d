import { afterEach, describe, expect, it } from 'vitest';
import { waitUntil } from '../crash/harness.js';
import { FLEET_TURNS, readLedger } from './agents.js';
import { closeFleets, inProcessFleet as fleet } from './in-process.js';

afterEach(closeFleets);

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
