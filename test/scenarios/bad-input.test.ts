import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineAgent, scriptedModel, TerminalOutcome, type ScriptStep } from '../../index.js';
import { counted, lookupInput } from '../support/tools.js';

/** Runs one bad call then answers with whatever the model was told, so tests can read the hint. */
async function hintFor(step: ScriptStep) {
  const t = counted({ name: 'lookup', description: 'order status', input: z.object({ orderId: z.string(), kind: z.enum(['refund', 'return']).optional() }), sideEffect: 'none', run: () => 'ok' });
  const agent = defineAgent({
    id: 'a',
    goal: 'g',
    model: scriptedModel(({ turn, lastResults }) => (turn === 1 ? step : { answer: { hint: lastResults[0]?.content ?? '', isError: lastResults[0]?.isError ?? false } })),
    tools: [t.def],
  });
  const run = agent.start();
  const o = TerminalOutcome.parse(await run.outcome);
  if (o.reason !== 'COMPLETED') throw new Error(`expected COMPLETED, got ${o.reason}`);
  expect(t.calls).toBe(0);
  const result = o.result as { hint: string; isError: boolean };
  expect(result.isError).toBe(true);
  return { hint: result.hint, failedTurns: run.actor.getSnapshot().context.failedTurns };
}

describe('bad input gets a typed outcome or a hint to the model, never a crash', () => {
  it('malformed JSON arguments', async () => {
    const { hint, failedTurns } = await hintFor({ call: 'lookup', rawArgs: '{"orderId": "4' });
    expect(hint).toMatch(/JSON/);
    expect(failedTurns).toBe(1);
  });

  it('an unknown tool name suggests the closest one', async () => {
    const { hint } = await hintFor({ call: 'lookpu', args: { orderId: '1' } });
    expect(hint).toContain('lookup');
  });

  it('arguments that fail the schema get the issue and a close valid value', async () => {
    const { hint } = await hintFor({ call: 'lookup', args: { orderId: 1, kind: 'refnud' } });
    expect(hint).toContain('orderId');
    expect(hint).toContain("'refund'");
  });

  it('a __proto__ key is refused and pollutes nothing', async () => {
    const { hint } = await hintFor({ call: 'lookup', rawArgs: '{"orderId":"1","__proto__":{"polluted":true}}' });
    expect(hint).toContain('__proto__');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('a 5 MB argument string is refused as too large and kept out of the transcript', async () => {
    const huge = JSON.stringify({ orderId: 'x'.repeat(5 * 1024 * 1024) });
    const { hint } = await hintFor({ call: 'lookup', rawArgs: huge });
    expect(hint.length).toBeLessThan(2_000);
    expect(hint).toMatch(/large|bytes/i);
  });

  it('a tool that throws a non-Error value is a tool failure with the value as the message', async () => {
    const t = counted({ name: 'odd', description: 'o', input: z.object({}), sideEffect: 'none', retry: { maxAttempts: 2, baseDelayMs: 1 }, run: () => {
      throw { code: 42 };
    } });
    const agent = defineAgent({ id: 'a', goal: 'g', model: scriptedModel([{ call: 'odd' }]), tools: [t.def] });
    const o = TerminalOutcome.parse(await agent.run());
    expect(o).toMatchObject({ reason: 'RETRY_LIMIT_REACHED', attempts: 2, lastError: { name: 'NonError', message: '{"code":42}' } });
    expect(t.calls).toBe(2);
  });

  it('a read-only tool that never resolves times out and is retried, then stops', async () => {
    const t = counted({ name: 'hang', description: 'h', input: lookupInput, sideEffect: 'none', timeoutMs: 15, retry: { maxAttempts: 2, baseDelayMs: 1 }, run: () => new Promise(() => {}) });
    const agent = defineAgent({ id: 'a', goal: 'g', model: scriptedModel([{ call: 'hang', args: { orderId: '1' } }]), tools: [t.def] });
    const o = TerminalOutcome.parse(await agent.run());
    expect(o).toMatchObject({ reason: 'RETRY_LIMIT_REACHED', tool: 'hang', attempts: 2, lastError: { name: 'ToolTimeoutError' } });
    expect(t.calls).toBe(2);
    expect(t.aborted).toBe(2);
  });

  it('a throwing approval predicate (user code outside a tool) ends INTERNAL_ERROR', async () => {
    const t = counted({ name: 'pay', description: 'p', input: z.object({}), sideEffect: 'none', approval: () => {
      throw new RangeError('policy bug');
    }, run: () => 'ok' });
    const agent = defineAgent({ id: 'a', goal: 'g', model: scriptedModel([{ call: 'pay' }]), tools: [t.def] });
    const o = TerminalOutcome.parse(await agent.run());
    expect(o).toMatchObject({ reason: 'INTERNAL_ERROR', error: { name: 'RangeError', message: 'policy bug' } });
    expect(t.calls).toBe(0);
  });

  it('a tool that returns a value JSON cannot hold fails typed, without retries', async () => {
    const t = counted({ name: 'big', description: 'b', input: z.object({}), sideEffect: 'none', run: () => ({ n: 1n }) });
    const agent = defineAgent({ id: 'a', goal: 'g', model: scriptedModel([{ call: 'big' }]), tools: [t.def] });
    const o = TerminalOutcome.parse(await agent.run());
    expect(o).toMatchObject({ reason: 'TOOL_FAILURE', tool: 'big', errorClass: 'FatalToolError' });
    expect(t.calls).toBe(1);
  });
});
