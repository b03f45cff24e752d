import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  defineAgent,
  FatalToolError,
  RetryableToolError,
  scriptedModel,
  TerminalOutcome,
  type Model,
  type OutcomeOf,
  type TerminalReason,
} from '../../index.js';
import { counted, lookupInput, sleep, until } from '../support/tools.js';

/** Parses with the exported schema and narrows to the expected member. */
function expectReason<R extends TerminalReason>(outcome: unknown, reason: R): OutcomeOf<R> {
  const parsed = TerminalOutcome.parse(outcome);
  expect(parsed.reason).toBe(reason);
  return parsed as OutcomeOf<R>;
}

const lookup = () =>
  counted({ name: 'lookup', description: 'order status', input: lookupInput, sideEffect: 'none', run: ({ orderId }) => ({ orderId, status: 'shipped' }) });

describe('every terminal reason through the public API', () => {
  it('COMPLETED carries the result, turns and usage', async () => {
    const t = lookup();
    const agent = defineAgent({ id: 'support', goal: 'where is 42?', model: scriptedModel([{ call: 'lookup', args: { orderId: '42' } }, { answer: { status: 'shipped' } }]), tools: [t.def] });
    const o = expectReason(await agent.run({ runId: 'r1' }), 'COMPLETED');
    expect(o.result).toEqual({ status: 'shipped' });
    expect(o.turns).toBe(2);
    expect(o.usage.turns).toBe(2);
    expect(o.usage.inputTokens).toBeGreaterThan(0);
    expect(t.calls).toBe(1);
    expect(t.keys).toEqual(['r1:2']);
  });

  it('INFEASIBLE carries the explanation', async () => {
    const agent = defineAgent({ id: 'a', goal: 'g', model: scriptedModel([{ giveUp: 'the order does not exist' }]) });
    expect(expectReason(await agent.run(), 'INFEASIBLE').explanation).toBe('the order does not exist');
  });

  it('ESCALATED by the agent says why and has no pending call', async () => {
    const agent = defineAgent({ id: 'a', goal: 'g', model: scriptedModel([{ escalate: 'customer threatens legal action' }]) });
    const o = expectReason(await agent.run(), 'ESCALATED');
    expect(o).toMatchObject({ by: 'agent', why: 'customer threatens legal action', pending: null });
  });

  it('ESCALATED when an approval times out, with the pending call, and the tool never runs', async () => {
    const refund = counted({ name: 'refund', description: 'refund', input: z.object({ amount: z.number() }), sideEffect: 'non-idempotent', approval: true, run: () => ({ ok: true }) });
    const agent = defineAgent({ id: 'a', goal: 'g', model: scriptedModel([{ call: 'refund', args: { amount: 30 } }]), tools: [refund.def], approval: { timeoutMs: 40 } });
    const o = expectReason(await agent.run(), 'ESCALATED');
    expect(o.by).toBe('approval-timeout');
    expect(o.pending).toEqual({ callId: 'call_1_0', tool: 'refund', arguments: '{"amount":30}' });
    expect(refund.calls).toBe(0);
  });

  it('BUDGET_EXCEEDED on turns names the budget, limit and use', async () => {
    const t = lookup();
    const agent = defineAgent({
      id: 'a',
      goal: 'g',
      model: scriptedModel(({ turn }) => ({ call: 'lookup', args: { orderId: `o${turn}` } })),
      tools: [t.def],
      limits: { maxTurns: 3 },
      progress: false,
    });
    const o = expectReason(await agent.run(), 'BUDGET_EXCEEDED');
    expect(o).toMatchObject({ budget: 'turns', limit: 3, used: 3 });
    expect(t.calls).toBe(3);
  });

  it('BUDGET_EXCEEDED on cost uses the price table', async () => {
    const t = lookup();
    const agent = defineAgent({
      id: 'a',
      goal: 'g',
      model: scriptedModel(({ turn }) => ({ call: 'lookup', args: { orderId: `o${turn}` }, usage: { inputTokens: 100_000, outputTokens: 0 } }), { id: 'house-model' }),
      prices: { 'house-model': { inputPerMTok: 1, outputPerMTok: 1 } },
      tools: [t.def],
      limits: { maxCostUsd: 0.25 },
      progress: false,
    });
    const o = expectReason(await agent.run(), 'BUDGET_EXCEEDED');
    expect(o.budget).toBe('costUsd');
    expect(o.limit).toBe(0.25);
    expect(o.used).toBeCloseTo(0.3, 10);
    expect(o.usage.costKnown).toBe(true);
    expect(t.calls).toBe(3);
  });

  it('TIMEOUT says where the run was and aborts the in-flight call', async () => {
    const slow = counted({ name: 'slow', description: 'slow', input: z.object({}), sideEffect: 'none', timeoutMs: 5_000, run: (_i, ctx) => sleep(5_000, ctx.signal) });
    const agent = defineAgent({ id: 'a', goal: 'g', model: scriptedModel([{ call: 'slow' }]), tools: [slow.def], limits: { maxWallClockMs: 60 } });
    const o = expectReason(await agent.run(), 'TIMEOUT');
    expect(o).toMatchObject({ deadlineMs: 60, state: 'acting', tool: 'slow' });
    expect(o.elapsedMs).toBeGreaterThanOrEqual(60);
    expect(slow.calls).toBe(1);
    expect(slow.aborted).toBe(1);
  });

  it('LOOP_DETECTED after one warning to the model', async () => {
    const t = lookup();
    let warned = 0;
    const agent = defineAgent({
      id: 'a',
      goal: 'g',
      model: scriptedModel(({ messages }) => {
        const last = messages.at(-1);
        if (last?.role === 'user' && last.content.startsWith('Supervisor warning')) warned++;
        return { call: 'lookup', args: { orderId: '7' } };
      }),
      tools: [t.def],
      limits: { maxTurns: 50 },
    });
    const o = expectReason(await agent.run(), 'LOOP_DETECTED');
    expect(o).toMatchObject({ pattern: 'repeat', period: 1, warned: true, window: 24 });
    expect(warned).toBe(1);
    expect(t.calls).toBe(4);
  });

  it('LOOP_DETECTED on an A-B cycle whose results never change', async () => {
    const a = counted({ name: 'open_page', description: 'open', input: z.object({ page: z.string() }), sideEffect: 'none', run: ({ page }) => ({ page, body: 'same' }) });
    const agent = defineAgent({
      id: 'a',
      goal: 'g',
      model: scriptedModel(({ turn }) => ({ call: 'open_page', args: { page: turn % 2 ? 'home' : 'about' } })),
      tools: [a.def],
      loop: { warnFirst: false },
      limits: { maxTurns: 50 },
    });
    const o = expectReason(await agent.run(), 'LOOP_DETECTED');
    expect(o).toMatchObject({ pattern: 'cycle', period: 2, repeats: 3, warned: false });
    expect(a.calls).toBe(6);
  });

  it('NO_PROGRESS when checks keep finding nothing new', async () => {
    const poll = counted({ name: 'poll', description: 'poll', input: z.object({ n: z.number() }), sideEffect: 'none', run: () => ({ state: 'pending' }) });
    const agent = defineAgent({
      id: 'a',
      goal: 'wait for the export',
      model: scriptedModel(({ turn }) => ({ call: 'poll', args: { n: turn } })),
      tools: [poll.def],
      progress: { everyTurns: 2, maxFailedChecks: 2 },
      limits: { maxTurns: 50 },
    });
    const o = expectReason(await agent.run(), 'NO_PROGRESS');
    expect(o.failedChecks).toBe(2);
    expect(o.checks).toBe(3);
    expect(o.verdict.why).toContain('nothing new');
    expect(poll.calls).toBe(6);
  });

  it('RETRY_LIMIT_REACHED after exactly maxAttempts calls', async () => {
    const flaky = counted({
      name: 'flaky',
      description: 'flaky',
      input: z.object({}),
      sideEffect: 'none',
      retry: { maxAttempts: 3, baseDelayMs: 1 },
      run: () => {
        throw new RetryableToolError('503 from upstream');
      },
    });
    const agent = defineAgent({ id: 'a', goal: 'g', model: scriptedModel([{ call: 'flaky' }]), tools: [flaky.def] });
    const o = expectReason(await agent.run({ runId: 'r' }), 'RETRY_LIMIT_REACHED');
    expect(o).toMatchObject({ tool: 'flaky', attempts: 3, lastError: { name: 'RetryableToolError', message: '503 from upstream' } });
    expect(flaky.keys).toEqual(['r:2', 'r:2', 'r:2']);
    expect(flaky.attempts).toEqual([1, 2, 3]);
  });

  it('TOOL_FAILURE on a fatal error, without retrying', async () => {
    const bad = counted({ name: 'charge', description: 'charge', input: z.object({}), sideEffect: 'non-idempotent', run: () => {
      throw new FatalToolError('card declined');
    } });
    const agent = defineAgent({ id: 'a', goal: 'g', model: scriptedModel([{ call: 'charge' }]), tools: [bad.def] });
    const o = expectReason(await agent.run(), 'TOOL_FAILURE');
    expect(o).toMatchObject({ tool: 'charge', errorClass: 'FatalToolError', message: 'card declined', circuitOpen: false });
    expect(bad.calls).toBe(1);
  });

  it('TOOL_FAILURE when the circuit opens before retries are spent', async () => {
    const down = counted({
      name: 'search',
      description: 'search',
      input: z.object({}),
      sideEffect: 'none',
      retry: { maxAttempts: 10, baseDelayMs: 1 },
      circuit: { failureThreshold: 2, cooldownMs: 60_000 },
      run: () => {
        throw new Error('ECONNREFUSED');
      },
    });
    const agent = defineAgent({ id: 'a', goal: 'g', model: scriptedModel([{ call: 'search' }]), tools: [down.def] });
    const o = expectReason(await agent.run(), 'TOOL_FAILURE');
    expect(o).toMatchObject({ tool: 'search', errorClass: 'CircuitOpenError', circuitOpen: true });
    expect(down.calls).toBe(2);
  });

  it('MODEL_REFUSED keeps the provider finish reason and words', async () => {
    const agent = defineAgent({ id: 'a', goal: 'g', model: scriptedModel([{ refuse: 'I cannot help with that.', finishReason: 'refusal' }]) });
    const o = expectReason(await agent.run(), 'MODEL_REFUSED');
    expect(o).toMatchObject({ finishReason: 'refusal', rawFinishReason: 'refusal', message: 'I cannot help with that.' });
  });

  it('ACTION_IN_DOUBT when a non-idempotent call times out and cannot be reconciled', async () => {
    const send = counted({ name: 'send_email', description: 'send', input: z.object({ to: z.string() }), sideEffect: 'non-idempotent', timeoutMs: 30, run: () => new Promise(() => {}) });
    const agent = defineAgent({ id: 'a', goal: 'g', model: scriptedModel([{ call: 'send_email', args: { to: 'x@y.z' } }]), tools: [send.def] });
    const o = expectReason(await agent.run({ runId: 'mail' }), 'ACTION_IN_DOUBT');
    expect(o).toMatchObject({ tool: 'send_email', idempotencyKey: 'mail:2', error: { name: 'ToolTimeoutError' } });
    expect(send.calls).toBe(1);
  });

  it('USER_KILLED records who and why, and aborts the in-flight call', async () => {
    const slow = counted({ name: 'slow', description: 'slow', input: z.object({}), sideEffect: 'none', run: (_i, ctx) => sleep(10_000, ctx.signal) });
    const agent = defineAgent({ id: 'a', goal: 'g', model: scriptedModel([{ call: 'slow' }]), tools: [slow.def] });
    const run = agent.start();
    await until(() => run.status().state === 'acting');
    run.kill('alice@oncall', 'runaway spend');
    const o = expectReason(await run.outcome, 'USER_KILLED');
    expect(o).toMatchObject({ by: 'alice@oncall', why: 'runaway spend' });
    expect(slow.aborted).toBe(1);
  });

  it('INTERNAL_ERROR when a model adapter throws an untyped error (a bug), never an unhandled rejection', async () => {
    const broken: Model = { id: 'broken', generate: async () => { throw new TypeError('cannot read properties of undefined'); } };
    const agent = defineAgent({ id: 'a', goal: 'g', model: broken });
    const o = expectReason(await agent.run(), 'INTERNAL_ERROR');
    expect(o.where).toBe('planning');
    expect(o.error).toMatchObject({ name: 'TypeError', message: 'cannot read properties of undefined' });
  });
});
