import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineAgent, RetryableToolError, scriptedModel, tool } from '../../index.js';
import { Supervisor } from '../../agents/supervisor.js';
import type { SnapshotStore } from '../../persistence/store.js';
import { faulty } from '../support/faulty-store.js';
import { leaseExpired, sleep, until } from '../support/tools.js';
import { STORE_CASES } from './stores.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** Opens a supervisor whose close is bounded (a frozen one never answers). */
async function open(store: SnapshotStore, agents: Parameters<typeof Supervisor.open>[0]['agents'], workerId: string) {
  const sup = await Supervisor.open({ store, agents, workerId, leaseMs: 150 });
  cleanups.push(() => sup.close({ timeoutMs: 100 }));
  return sup;
}

for (const storeCase of STORE_CASES) {
  describe(`timers survive a restore on ${storeCase.name}`, () => {
    it('a run restored mid-backoff retries at its due time, not at once and not never', async () => {
      const { open: handle, cleanup } = await storeCase.create();
      cleanups.push(cleanup);
      const base = await handle();
      const fault = faulty(base);
      const attempts: number[] = [];
      const flaky = tool({
        name: 'flaky',
        description: 'f',
        input: z.object({}),
        // A call that acts waits for its checkpoint, so the frozen first worker cannot start the retry itself.
        sideEffect: 'idempotent',
        retry: { maxAttempts: 3, baseDelayMs: 700, jitter: 'none' },
        run: () => {
          attempts.push(Date.now());
          if (attempts.length === 1) throw new RetryableToolError('503');
          return 'ok';
        },
      });
      const agent = defineAgent({ id: 'backoff', goal: 'g', model: scriptedModel([{ call: 'flaky' }, { answer: 'ok' }]), tools: [flaky] });
      const first = await open(fault.store, [agent], 'w1');
      const run = await first.start('backoff', { runId: `backoff-${storeCase.name}` });
      await until(async () => (await base.load(run.runId))?.summary.state === 'backingOff');
      const stored = (await base.load(run.runId))!.snapshot as { context: { retryAt: number } };
      fault.set('frozen');
      await leaseExpired(base, run.runId);
      const second = await open(base, [agent], 'w2');
      const [restored] = await second.recover();
      expect(restored?.status().state).toBe('backingOff');
      expect((await restored!.outcome).reason).toBe('COMPLETED');
      expect(attempts).toHaveLength(2);
      // The retry waited for the due time stored before the crash (timers here have ms resolution).
      expect(attempts[1]!).toBeGreaterThanOrEqual(stored.context.retryAt - 2);
    });

    it('a run restored while awaiting approval still escalates at the approval deadline', async () => {
      const { open: handle, cleanup } = await storeCase.create();
      cleanups.push(cleanup);
      const base = await handle();
      const fault = faulty(base);
      const pay = tool({ name: 'pay', description: 'p', input: z.object({}), sideEffect: 'non-idempotent', approval: true, run: () => 'paid' });
      const agent = defineAgent({ id: 'approval', goal: 'g', model: scriptedModel([{ call: 'pay' }]), tools: [pay], approval: { timeoutMs: 700 } });
      const first = await open(fault.store, [agent], 'w1');
      const run = await first.start('approval', { runId: `approval-${storeCase.name}` });
      await until(async () => (await base.load(run.runId))?.summary.state === 'awaitingApproval');
      const dueAt = ((await base.load(run.runId))!.snapshot as { context: { approvalDueAt: number } }).context.approvalDueAt;
      fault.set('frozen');
      await leaseExpired(base, run.runId);
      const second = await open(base, [agent], 'w2');
      const [restored] = await second.recover();
      const outcome = await restored!.outcome;
      expect(outcome).toMatchObject({ reason: 'ESCALATED', by: 'approval-timeout' });
      expect(outcome.endedAt).toBeGreaterThanOrEqual(dueAt - 2);
    });

    it('a run restored past its wall-clock deadline ends TIMEOUT at once, saying where it was', async () => {
      const { open: handle, cleanup } = await storeCase.create();
      cleanups.push(cleanup);
      const base = await handle();
      const fault = faulty(base);
      const slow = tool({ name: 'slow', description: 's', input: z.object({}), sideEffect: 'none', run: (_i, ctx) => sleep(5_000, ctx.signal) });
      const agent = defineAgent({ id: 'deadline', goal: 'g', model: scriptedModel([{ call: 'slow' }]), tools: [slow], limits: { maxWallClockMs: 250 } });
      const first = await open(fault.store, [agent], 'w1');
      const startedAt = Date.now();
      const run = await first.start('deadline', { runId: `deadline-${storeCase.name}` });
      await until(async () => (await base.load(run.runId))?.summary.state === 'acting');
      fault.set('frozen');
      await leaseExpired(base, run.runId);
      await until(() => Date.now() > startedAt + 260); // the deadline passed while nobody hosted the run
      const second = await open(base, [agent], 'w2');
      const [restored] = await second.recover();
      expect(await restored!.outcome).toMatchObject({ reason: 'TIMEOUT', deadlineMs: 250, state: 'acting', tool: 'slow' });
    });
  });
}
