import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineAgent, RetryableToolError, scriptedModel, type RunStatus } from '../../index.js';
import { counted, sleep, until } from '../support/tools.js';

describe('operator controls', () => {
  it('PAUSE during a call takes effect once the call settles; RESUME continues where it was', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const work = counted({ name: 'work', description: 'w', input: z.object({ n: z.number() }), sideEffect: 'none', run: async ({ n }) => {
      if (n === 1) await gate;
      return { n };
    } });
    const agent = defineAgent({
      id: 'a',
      goal: 'g',
      model: scriptedModel([{ call: 'work', args: { n: 1 } }, { call: 'work', args: { n: 2 } }, { answer: 'done' }]),
      tools: [work.def],
    });
    const run = agent.start();
    const seen: RunStatus[] = [];
    run.onStatus((s) => seen.push(s));
    await until(() => run.status().state === 'acting');
    run.pause('bob', 'looking at it');
    expect(run.status()).toMatchObject({ state: 'acting', pauseRequested: true });
    release();
    await until(() => run.status().status === 'paused');
    // The first call finished and nothing else started while paused.
    await sleep(20);
    expect(work.calls).toBe(1);
    expect(run.status()).toMatchObject({ state: 'paused', paused: { by: 'bob', why: 'looking at it' }, pauseRequested: false });
    run.resume('bob');
    const o = await run.outcome;
    expect(o.reason).toBe('COMPLETED');
    expect(work.calls).toBe(2);
    expect(seen.some((s) => s.status === 'paused')).toBe(true);
  });

  it('PAUSE while backing off pauses at once, and RESUME retries the same call', async () => {
    let failures = 1;
    const flaky = counted({ name: 'flaky', description: 'f', input: z.object({}), sideEffect: 'none', retry: { maxAttempts: 3, baseDelayMs: 200, jitter: 'none' }, run: () => {
      if (failures-- > 0) throw new RetryableToolError('busy');
      return 'ok';
    } });
    const agent = defineAgent({ id: 'a', goal: 'g', model: scriptedModel([{ call: 'flaky' }, { answer: 'ok' }]), tools: [flaky.def] });
    const run = agent.start({ runId: 'b' });
    await until(() => run.status().state === 'backingOff');
    run.pause('bob', 'hold');
    expect(run.status().state).toBe('paused');
    run.resume('bob');
    expect((await run.outcome).reason).toBe('COMPLETED');
    expect(flaky.keys).toEqual(['b:2', 'b:2']);
    expect(flaky.attempts).toEqual([1, 2]);
  });

  it('APPROVE runs the call once; status shows the pending call with secrets redacted', async () => {
    const pay = counted({ name: 'pay', description: 'p', input: z.object({ amount: z.number(), apiKey: z.string() }), sideEffect: 'non-idempotent', approval: ({ amount }) => amount > 100, run: () => ({ paid: true }) });
    const agent = defineAgent({ id: 'a', goal: 'g', model: scriptedModel([{ call: 'pay', args: { amount: 500, apiKey: 'sk-live-123' } }, { answer: 'paid' }]), tools: [pay.def] });
    const run = agent.start();
    await until(() => run.status().status === 'awaiting-approval');
    expect(run.status().pendingApproval).toMatchObject({ tool: 'pay', arguments: { amount: 500, apiKey: '[redacted]' } });
    expect(pay.calls).toBe(0);
    run.approve('carol');
    expect((await run.outcome).reason).toBe('COMPLETED');
    expect(pay.calls).toBe(1);
  });

  it('small amounts skip approval (the policy is a predicate on validated input)', async () => {
    const pay = counted({ name: 'pay', description: 'p', input: z.object({ amount: z.number() }), sideEffect: 'non-idempotent', approval: ({ amount }) => amount > 100, run: () => ({ paid: true }) });
    const agent = defineAgent({ id: 'a', goal: 'g', model: scriptedModel([{ call: 'pay', args: { amount: 5 } }, { answer: 'paid' }]), tools: [pay.def] });
    expect((await agent.run()).reason).toBe('COMPLETED');
    expect(pay.calls).toBe(1);
  });

  it('REJECT sends the feedback to the model, which re-plans; the call never runs', async () => {
    const pay = counted({ name: 'pay', description: 'p', input: z.object({ amount: z.number() }), sideEffect: 'non-idempotent', approval: true, run: () => ({ paid: true }) });
    let feedback = '';
    const agent = defineAgent({
      id: 'a',
      goal: 'g',
      model: scriptedModel(({ turn, lastResults }) => {
        if (turn === 1) return { call: 'pay', args: { amount: 500 } };
        feedback = lastResults[0]?.content ?? '';
        return { answer: 'offered a voucher instead' };
      }),
      tools: [pay.def],
    });
    const run = agent.start();
    await until(() => run.status().status === 'awaiting-approval');
    run.reject('carol', 'offer a voucher instead');
    expect((await run.outcome).reason).toBe('COMPLETED');
    expect(feedback).toBe('Rejected by carol: offer a voucher instead');
    expect(pay.calls).toBe(0);
  });

  it('approval timeout with onTimeout=replan tells the model and continues', async () => {
    const pay = counted({ name: 'pay', description: 'p', input: z.object({}), sideEffect: 'non-idempotent', approval: true, run: () => 'paid' });
    const agent = defineAgent({
      id: 'a',
      goal: 'g',
      model: scriptedModel(({ turn, lastResults }) => (turn === 1 ? { call: 'pay' } : { answer: lastResults[0]?.content ?? '' })),
      tools: [pay.def],
      approval: { timeoutMs: 20, onTimeout: 'replan' },
    });
    const o = await agent.run();
    expect(o).toMatchObject({ reason: 'COMPLETED', result: 'Not run: the approval request expired before anyone approved it.' });
    expect(pay.calls).toBe(0);
  });

  it('KILL while paused ends USER_KILLED', async () => {
    const agent = defineAgent({ id: 'a', goal: 'g', model: scriptedModel([{ call: 'wait' }]), tools: [counted({ name: 'wait', description: 'w', input: z.object({}), sideEffect: 'none', run: () => sleep(30) }).def] });
    const run = agent.start();
    run.pause('bob', 'x');
    await until(() => run.status().status === 'paused');
    run.kill('bob', 'not needed');
    expect(await run.outcome).toMatchObject({ reason: 'USER_KILLED', by: 'bob', why: 'not needed' });
  });

  it('status reports budgets used against limits and recent transitions', async () => {
    const agent = defineAgent({ id: 'a', goal: 'g', model: scriptedModel([{ answer: 1 }]), limits: { maxTurns: 4, maxWallClockMs: 10_000 } });
    const run = agent.start();
    await run.outcome;
    const s = run.status();
    expect(s.status).toBe('done');
    expect(s.budgets.map((b) => b.budget)).toEqual(['turns', 'wallClockMs']);
    expect(s.budgets[0]).toMatchObject({ used: 1, limit: 4, share: 0.25 });
    expect(s.recent.map((t) => t.to)).toEqual(['planning', 'completed']);
  });
});
