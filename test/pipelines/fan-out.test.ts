import { describe, expect, it } from 'vitest';
import { Cancellation, fanOut, type FanOutPolicy, type FanOutTask } from '../../agents/fan-out.js';
import { sleep } from '../support/tools.js';

/**
 * Tasks that take `ms` each (abortable), one of which fails (resolves with
 * `bad`, or throws); every task is counted running while it runs, so the
 * test can assert that no task outlives the fan-out.
 */
function harness(n: number, failAt: number | null, options: { ms?: number; failMs?: number; throws?: boolean } = {}) {
  const state = { running: 0, maxRunning: 0, started: new Set<number>(), aborted: new Map<number, unknown>() };
  const tasks: FanOutTask<string>[] = Array.from({ length: n }, (_, i) => async (signal) => {
    state.started.add(i);
    state.running++;
    state.maxRunning = Math.max(state.maxRunning, state.running);
    try {
      await sleep(i === failAt ? options.failMs ?? 10 : options.ms ?? 60, signal);
      if (i === failAt) {
        if (options.throws) throw new Error(`task ${i} exploded`);
        return 'bad';
      }
      return 'ok';
    } catch (error) {
      if (signal.aborted) state.aborted.set(i, signal.reason);
      throw error;
    } finally {
      state.running--;
    }
  });
  return { tasks, state, failed: (v: string) => v === 'bad' };
}

const POSITIONS = { first: 0, middle: 2, last: 4 } as const;
const N = 5;

describe('fanOut: all', () => {
  for (const [where, at] of Object.entries(POSITIONS)) {
    for (const concurrency of [N, 2]) {
      it(`a failure at the ${where} position (concurrency ${concurrency}) fails the fan-out naming it, cancels the running siblings and starts no more`, async () => {
        const h = harness(N, at);
        const report = await fanOut(h.tasks, { policy: 'all', concurrency, failed: h.failed, label: (i) => `child-${i}`, explain: (v) => `said ${v}` });
        expect(h.state.running, 'tasks still running after the report').toBe(0);
        expect(h.state.maxRunning).toBeLessThanOrEqual(concurrency);
        expect(report.status).toBe('failed');
        expect(report.decidedBy).toBe(at);
        expect(report.why).toBe(`child-${at} said bad`);
        const failedOne = report.settlements[at]!;
        expect(failedOne).toMatchObject({ status: 'fulfilled', value: 'bad', failed: true, cancelled: false });
        for (const s of report.settlements) {
          if (s.index === at) continue;
          // Every sibling either finished before the failure, was cancelled (told which child failed), or never started.
          if (s.status === 'skipped') expect(h.state.started.has(s.index)).toBe(false);
          else if (s.status === 'rejected') {
            expect(s.cancelled).toBe(true);
            const reason = h.state.aborted.get(s.index);
            expect(reason).toBeInstanceOf(Cancellation);
            expect((reason as Cancellation).why).toBe(`sibling child-${at} said bad`);
          } else expect(s).toMatchObject({ value: 'ok', failed: false });
        }
        // With everything started at once, every sibling was still running when the failure came.
        if (concurrency === N) expect(report.settlements.filter((s) => s.status === 'rejected' && s.cancelled)).toHaveLength(N - 1);
        else expect(report.settlements.some((s) => s.status === 'skipped') || at >= N - 2).toBe(true);
      });
    }
  }

  it('a task that throws is a failure attributed to it', async () => {
    const h = harness(N, 3, { throws: true });
    const report = await fanOut(h.tasks, { policy: 'all', failed: h.failed, label: (i) => `child-${i}` });
    expect(report).toMatchObject({ status: 'failed', decidedBy: 3, failed: expect.any(Number) });
    expect(report.why).toBe('child-3 threw Error: task 3 exploded');
    expect(report.settlements[3]).toMatchObject({ status: 'rejected', cancelled: false });
    expect(h.state.running).toBe(0);
  });

  it('no failure: every task succeeds', async () => {
    const h = harness(N, null);
    const report = await fanOut(h.tasks, { policy: 'all', concurrency: 2, failed: h.failed });
    expect(report).toMatchObject({ status: 'succeeded', decidedBy: null, succeeded: N, failed: 0, why: null });
    expect(h.state.maxRunning).toBe(2);
  });
});

describe('fanOut: settled', () => {
  for (const [where, at] of Object.entries(POSITIONS)) {
    it(`a failure at the ${where} position is recorded for that task; every other task runs to its end`, async () => {
      const h = harness(N, at, { throws: at === 2 });
      const report = await fanOut(h.tasks, { policy: 'settled', concurrency: 2, failed: h.failed });
      expect(h.state.running).toBe(0);
      expect(report).toMatchObject({ status: 'succeeded', succeeded: N - 1, failed: 1, decidedBy: null });
      expect(h.state.aborted.size).toBe(0);
      report.settlements.forEach((s, i) => {
        if (i === at) expect(s.status === 'rejected' || (s.status === 'fulfilled' && s.failed)).toBe(true);
        else expect(s).toMatchObject({ status: 'fulfilled', value: 'ok', failed: false, cancelled: false });
      });
    });
  }
});

describe('fanOut: quorum', () => {
  for (const [where, at] of Object.entries(POSITIONS)) {
    it(`quorum(3) of 5 with a failure at the ${where} position succeeds once 3 completed, and cancels the rest`, async () => {
      const h = harness(N, at, { ms: 30, failMs: 5 });
      const report = await fanOut(h.tasks, { policy: { quorum: 3 }, concurrency: N, failed: h.failed });
      expect(h.state.running).toBe(0);
      expect(report.status).toBe('succeeded');
      expect(report.succeeded).toBeGreaterThanOrEqual(3);
      for (const s of report.settlements) {
        if (s.status === 'rejected') expect((h.state.aborted.get(s.index) as Cancellation).why).toBe('quorum(3) reached; no longer needed');
      }
    });

    it(`quorum(5) of 5 with a failure at the ${where} position fails at once, naming it, and cancels the rest`, async () => {
      const h = harness(N, at, { ms: 200, failMs: 5 });
      const report = await fanOut(h.tasks, { policy: { quorum: 5 }, concurrency: N, failed: h.failed, label: (i) => `child-${i}` });
      expect(h.state.running).toBe(0);
      expect(report).toMatchObject({ status: 'failed', decidedBy: at });
      expect(report.why).toBe(`quorum(5) unreachable: 1 of 5 failed, the last child-${at} failed`);
      expect(report.settlements.filter((s) => s.status === 'rejected' && s.cancelled)).toHaveLength(N - 1);
    });
  }

  it('quorum(2) of 4 fails as soon as three have failed, naming the third', async () => {
    const state = { running: 0 };
    const tasks: FanOutTask<string>[] = [5, 10, 15, 500].map((ms, i) => async (signal) => {
      state.running++;
      try {
        await sleep(ms, signal);
        return i < 3 ? 'bad' : 'ok';
      } finally {
        state.running--;
      }
    });
    const report = await fanOut(tasks, { policy: { quorum: 2 }, failed: (v) => v === 'bad' });
    expect(report).toMatchObject({ status: 'failed', decidedBy: 2, failed: 3 });
    expect(report.settlements[3]).toMatchObject({ status: 'rejected', cancelled: true });
    expect(state.running).toBe(0);
  });

  it('a quorum larger than the fan-out is unreachable: nothing starts', async () => {
    const h = harness(2, null);
    const report = await fanOut(h.tasks, { policy: { quorum: 3 } });
    expect(report).toMatchObject({ status: 'failed', decidedBy: null, why: 'quorum(3) of 2 tasks is unreachable' });
    expect(h.state.started.size).toBe(0);
    expect(report.settlements.every((s) => s.status === 'skipped')).toBe(true);
  });
});

describe('fanOut: the parent', () => {
  for (const policy of ['all', 'settled', { quorum: 2 }] as FanOutPolicy[]) {
    it(`aborting the parent's signal cancels every running task and starts no more (${JSON.stringify(policy)})`, async () => {
      const h = harness(N, null, { ms: 5_000 });
      const parent = new AbortController();
      const pending = fanOut(h.tasks, { policy, concurrency: 3, signal: parent.signal });
      await sleep(20);
      expect(h.state.running).toBe(3);
      parent.abort(new Error('parent killed'));
      const report = await pending;
      expect(h.state.running, 'tasks still running after the report').toBe(0);
      expect(report.status).toBe('cancelled');
      expect([...h.state.aborted.values()].every((r) => (r as Error).message === 'parent killed')).toBe(true);
      expect(report.settlements.filter((s) => s.status === 'skipped')).toHaveLength(2);
    });
  }

  it('an already aborted parent starts nothing', async () => {
    const h = harness(3, null);
    const parent = new AbortController();
    parent.abort();
    const report = await fanOut(h.tasks, { policy: 'all', signal: parent.signal });
    expect(report.status).toBe('cancelled');
    expect(h.state.started.size).toBe(0);
  });

  it('an empty fan-out succeeds (all, settled)', async () => {
    expect((await fanOut([], { policy: 'all' })).status).toBe('succeeded');
    expect((await fanOut([], { policy: 'settled' })).status).toBe('succeeded');
  });

  it('waits for a task that is slow to honour its abort: the report never comes before every task settled', async () => {
    let settled = false;
    const stubborn: FanOutTask<string> = async () => {
      await sleep(80); // ignores its signal
      settled = true;
      return 'ok';
    };
    const failing: FanOutTask<string> = async () => 'bad';
    const report = await fanOut([stubborn, failing], { policy: 'all', failed: (v) => v === 'bad' });
    expect(settled).toBe(true);
    expect(report.settlements[0]).toMatchObject({ status: 'fulfilled', cancelled: true });
  });
});
