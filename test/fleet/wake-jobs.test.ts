import { afterEach, describe, expect, it } from 'vitest';
import { timerJobId } from '../../agents/fleet/queue-keys.js';
import { sweep } from '../../agents/fleet/sweeper.js';
import { createMetrics } from '../../agents/telemetry/metrics.js';
import { waitUntil } from '../crash/harness.js';
import { readLedger } from './agents.js';
import { closeFleets, inProcessFleet } from './in-process.js';

afterEach(closeFleets);

describe('the jobs a resting run leaves in the queue', () => {
  it('one delayed job per rest, however often the run is woken and rests again on the same timer; Prometheus counts it', async () => {
    const { store, queue, client, workers, ends: told, dir } = await inProcessFleet(1);
    const worker = workers[0]!;
    /** How the run's slices ended, in order. */
    const ends = () => told.map((t) => t.end);
    const metrics = createMetrics({ queue });

    /** Every job of the queue, by state, with its id. */
    const jobs = async () => (await Promise.all((await queue.queues()).map((q) => q.getJobs(['waiting', 'active', 'delayed', 'prioritized', 'failed'])))).flat().map((j) => j.id).sort();
    const rests = () => ends().filter((e) => e.kind === 'resting');
    const settled = async (slices: number, what: string) => {
      await waitUntil(() => told.length === slices, 30_000, what);
      await waitUntil(async () => worker.inHand === 0 && (await queue.depth()).active === 0, 10_000, 'the worker to let go of the slice');
    };

    await client.submit('approval', { runId: 'w1' });
    await settled(1, 'the run to rest for its approval');
    const first = rests()[0]!;
    expect(first).toMatchObject({ why: 'approval' });
    expect(await jobs()).toEqual([timerJobId('w1', first.dueAt!)]);

    // The sweeper finds the run unmoved and wakes it: the slice finds it still waiting, on the same timer.
    expect(await sweep(store, queue, 1_000, Date.now() + 60_000)).toBe(1);
    await settled(2, 'the swept slice to find the run resting');
    // A pause and a resume each wake it too; it ends up waiting for the same approval, due at the same time.
    await client.pause('w1', 'alice', 'a look');
    await settled(3, 'the paused run to rest');
    expect(ends()[2]).toMatchObject({ kind: 'resting', why: 'paused', dueAt: null });
    await client.resume('w1', 'alice');
    await settled(4, 'the resumed run to rest for its approval again');
    expect(rests().map((e) => (e.kind === 'resting' ? e.dueAt : null))).toEqual([first.dueAt, first.dueAt, null, first.dueAt]);
    expect(await jobs()).toEqual([timerJobId('w1', first.dueAt!)]);
    expect(await queue.depth()).toEqual({ waiting: 0, active: 0, delayed: 1, prioritized: 0, failed: 0 });
    const text = await metrics.render();
    expect(text).toContain('reins_queue_jobs{state="delayed"} 1');
    expect(text).toContain('reins_queue_jobs{state="waiting"} 0');

    await client.approve('w1', 'alice');
    await waitUntil(async () => (await store.load('w1'))?.summary.status === 'done', 30_000, 'the approved run to end');
    expect((await store.load('w1'))?.outcome).toMatchObject({ reason: 'COMPLETED', result: 'charged' });
    expect(readLedger(dir).get('w1|a1')).toEqual({ apply: 1, once: 0 });
  });
});
