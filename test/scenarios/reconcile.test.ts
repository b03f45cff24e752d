import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineAgent, scriptedModel } from '../../index.js';
import { counted } from '../support/tools.js';

/** A payment API that times out on the first attempt; `landed` says whether that attempt took effect. */
function flakyPayments(landed: boolean, reconcileThrows = false) {
  const ledger = new Map<string, number>();
  let first = true;
  const pay = counted({
    name: 'pay',
    description: 'charge a card',
    input: z.object({ amount: z.number() }),
    sideEffect: 'non-idempotent',
    timeoutMs: 20,
    retry: { maxAttempts: 3, baseDelayMs: 1 },
    run: async ({ amount }, ctx) => {
      if (first) {
        first = false;
        if (landed) ledger.set(ctx.idempotencyKey, amount);
        return new Promise(() => {});
      }
      ledger.set(ctx.idempotencyKey, amount);
      return { charged: amount };
    },
    reconcile: (key) => {
      if (reconcileThrows) throw new Error('ledger unreachable');
      return ledger.has(key) ? { applied: true, result: { charged: ledger.get(key) } } : { applied: false };
    },
  });
  return { pay, ledger };
}

describe('an in-doubt call is reconciled, never repeated blindly', () => {
  it('applied: the recorded result is used and the card is charged once', async () => {
    const { pay, ledger } = flakyPayments(true);
    const agent = defineAgent({ id: 'a', goal: 'g', model: scriptedModel(({ turn, lastResults }) => (turn === 1 ? { call: 'pay', args: { amount: 9 } } : { answer: lastResults[0]?.content ?? '' })), tools: [pay.def] });
    expect(await agent.run()).toMatchObject({ reason: 'COMPLETED', result: '{"charged":9}' });
    expect(pay.calls).toBe(1);
    expect(ledger.size).toBe(1);
  });

  it('not applied: exactly one retry, and one charge', async () => {
    const { pay, ledger } = flakyPayments(false);
    const agent = defineAgent({ id: 'a', goal: 'g', model: scriptedModel([{ call: 'pay', args: { amount: 9 } }, { answer: 'ok' }]), tools: [pay.def] });
    expect((await agent.run({ runId: 'p' })).reason).toBe('COMPLETED');
    // One key for the logical call, whatever the attempt: a provider that deduplicates sees one charge.
    expect(pay.keys).toEqual(['p:2', 'p:2']);
    expect(pay.attempts).toEqual([1, 2]);
    expect([...ledger.keys()]).toEqual(['p:2']);
  });

  it('reconcile itself failing ends ACTION_IN_DOUBT with its error', async () => {
    const { pay } = flakyPayments(true, true);
    const agent = defineAgent({ id: 'a', goal: 'g', model: scriptedModel([{ call: 'pay', args: { amount: 9 } }]), tools: [pay.def] });
    expect(await agent.run({ runId: 'q' })).toMatchObject({ reason: 'ACTION_IN_DOUBT', tool: 'pay', idempotencyKey: 'q:2', error: { message: 'ledger unreachable' } });
    expect(pay.calls).toBe(1);
  });
});
