import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createLogger } from '../../agents/logger.js';
import { Supervisor } from '../../agents/supervisor.js';
import { defineAgent, scriptedModel, type Model, type ToolContext } from '../../index.js';
import type { SnapshotStore } from '../../persistence/store.js';
import { faulty } from '../support/faulty-store.js';
import { counted, sleep, until } from '../support/tools.js';
import { STORE_CASES } from './stores.js';

/**
 * The windows in which a run could be hosted twice, or a call done twice,
 * opened on purpose on every store: a slow return from the store call that
 * creates a run, another worker recovering the fresh run, a creator whose
 * lease runs out before its run starts, and renewals that stop answering
 * while a side-effecting call is in flight.
 */

/** A store handle whose `create` lands at once but answers `ms` later (a GC pause, a busy CPU); `landed` resolves when it is in the store. */
function slowCreate(store: SnapshotStore, ms: number): { store: SnapshotStore; landed: Promise<void> } {
  let landed!: () => void;
  const done = new Promise<void>((resolve) => (landed = resolve));
  const proxy = new Proxy(store, {
    get(target, prop) {
      const value = Reflect.get(target, prop) as unknown;
      if (typeof value !== 'function') return value;
      if (prop !== 'create') return (value as (...a: unknown[]) => unknown).bind(target);
      return async (...args: unknown[]) => {
        const result = await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        landed();
        await sleep(ms);
        return result;
      };
    },
  });
  return { store: proxy, landed: done };
}

/** Log lines at warn and above, to assert that nothing was reported as an outage or a conflict. */
function capturedLogger() {
  const lines: Array<{ msg: string; err?: string }> = [];
  const logger = createLogger({ level: 'warn', destination: { write: (line: string) => void lines.push(JSON.parse(line) as { msg: string }) } });
  return { logger, lines };
}

/**
 * A payment provider that records each charge by idempotency key, with a model whose calls are counted. `before`
 * runs ahead of each charge (by default a short wait), `timeoutMs` is the charge's timeout.
 */
function payments(options: { timeoutMs?: number; before?: (ctx: ToolContext) => Promise<void> } = {}) {
  const charges: Array<{ key: string; attempt: number }> = [];
  const before = options.before ?? ((ctx: ToolContext) => sleep(20, ctx.signal));
  const charge = counted({
    name: 'charge',
    description: 'charges a card',
    input: z.object({ amount: z.number() }),
    sideEffect: 'non-idempotent',
    timeoutMs: options.timeoutMs ?? 400,
    retry: { maxAttempts: 3, baseDelayMs: 1 },
    run: async ({ amount }, ctx) => {
      await before(ctx);
      charges.push({ key: ctx.idempotencyKey, attempt: ctx.attempt });
      return { charged: amount };
    },
    reconcile: (key) => (charges.some((c) => c.key === key) ? { applied: true, result: { charged: 0 } } : { applied: false }),
  });
  let modelCalls = 0;
  const inner = scriptedModel([{ call: 'charge', args: { amount: 5 } }, { answer: 'paid' }]);
  const model: Model = { id: inner.id, generate: (req) => ((modelCalls++), inner.generate(req)) };
  const agent = defineAgent({ id: 'payer', goal: 'pay once', model, tools: [charge.def], progress: false });
  return { agent, charge, charges, modelCalls: () => modelCalls };
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

for (const storeCase of STORE_CASES) {
  describe(`ownership on ${storeCase.name}`, () => {
    async function open() {
      const s = await storeCase.create();
      cleanups.push(s.cleanup);
      return s.open;
    }
    async function supervisor(store: SnapshotStore, agent: ReturnType<typeof payments>['agent'], workerId: string, leaseMs: number, logger = createLogger()) {
      const sup = await Supervisor.open({ store, agents: [agent], workerId, leaseMs, logger });
      cleanups.push(() => sup.close({ timeoutMs: 200 }));
      return sup;
    }

    it('one supervisor hosts a run once: its own recover() while start() is still returning takes nothing', async () => {
      const handle = await open();
      const pay = payments();
      const slow = slowCreate(await handle(), 150);
      const log = capturedLogger();
      const sup = await supervisor(slow.store, pay.agent, 'w1', 2_000, log.logger);
      const starting = sup.start('payer', { runId: `once-${storeCase.name}` });
      await slow.landed;
      // The run is in the store, listed as running, and start() has not returned: the window the gate closes.
      expect((await sup.store.list({ status: 'running' })).map((s) => s.runId)).toContain(`once-${storeCase.name}`);
      expect(await sup.recoverRuns()).toEqual([]);
      const run = await starting;
      expect(await sup.recoverRuns()).toEqual([]);
      expect(await run.outcome).toMatchObject({ reason: 'COMPLETED', result: 'paid' });
      expect(pay.charges).toEqual([{ key: `once-${storeCase.name}:2`, attempt: 1 }]);
      expect(pay.charge.calls).toBe(1);
      expect(pay.modelCalls()).toBe(2);
      expect(log.lines.map((l) => l.msg)).toEqual([]);
    });

    it('creation is ownership: another worker recovering the fresh run gets nothing, and start() completes it', async () => {
      const handle = await open();
      const pay = payments();
      const slow = slowCreate(await handle(), 150);
      const a = await supervisor(slow.store, pay.agent, 'a', 2_000);
      const b = await supervisor(await handle(), pay.agent, 'b', 2_000);
      const starting = a.start('payer', { runId: `fresh-${storeCase.name}` });
      await slow.landed;
      expect(await b.recoverRuns()).toEqual([]);
      const run = await starting;
      expect(await run.outcome).toMatchObject({ reason: 'COMPLETED' });
      expect(pay.charges).toHaveLength(1);
      expect(pay.modelCalls()).toBe(2);
    });

    it('start() never throws for a run it made durable: when the lease moved before the run began, the handle follows the run', async () => {
      const handle = await open();
      const pay = payments();
      // The creator's lease (200 ms) runs out while its create() is still returning (600 ms): B takes the run over.
      const slow = slowCreate(await handle(), 600);
      const a = await supervisor(slow.store, pay.agent, 'a', 200);
      const b = await supervisor(await handle(), pay.agent, 'b', 2_000);
      const runId = `moved-${storeCase.name}`;
      const starting = a.start('payer', { runId });
      await slow.landed;
      await until(async () => (await b.recoverRuns()).length === 1, 5_000);
      const run = await starting;
      const outcome = await run.outcome;
      expect(outcome).toMatchObject({ reason: 'COMPLETED', result: 'paid' });
      expect((await b.store.load(runId))?.outcome).toEqual(outcome);
      expect(pay.charges).toEqual([{ key: `${runId}:2`, attempt: 1 }]);
      expect(pay.modelCalls()).toBe(2);
      expect(a.getRun(runId)).toBeUndefined();
    });

    it('renewals that stop answering: the run fences itself (its call aborted) before its lease runs out, and takes it back once the store answers', async () => {
      const handle = await open();
      const abortedBy: string[] = [];
      let entered!: () => void;
      const inCall = new Promise<void>((resolve) => (entered = resolve));
      const { agent, charge, charges } = payments({
        // Longer than the time to fence (under the 1 s lease), so the first attempt is stopped by the fence, not its timeout.
        timeoutMs: 1_500,
        before: async (ctx) => {
          if (ctx.attempt > 1) return;
          ctx.signal.addEventListener('abort', () => abortedBy.push((ctx.signal.reason as Error).name), { once: true });
          entered();
          await sleep(10_000, ctx.signal);
        },
      });
      const net = faulty(await handle());
      const sup = await supervisor(net.store, agent, 'w', 1_000);
      const runId = `fence-${storeCase.name}`;
      const first = await sup.start('payer', { runId });
      await inCall;
      net.set('down');
      // Fenced within the lease: the call's signal aborts before the lease (1 s from the last renewal) runs out.
      await until(() => charge.aborted === 1, 5_000);
      expect(abortedBy).toEqual(['AbortError']);
      expect(charges).toEqual([]);
      net.set('ok');
      // Taken back as a new holding one lease after the fence (no other worker recovered it): the interrupted call waits
      // out its window, is reconciled (not applied) and retried under the same key. The first handle follows the run.
      expect(await first.outcome).toMatchObject({ reason: 'COMPLETED', result: 'paid' });
      expect(charges).toEqual([{ key: `${runId}:2`, attempt: 2 }]);
      expect(charge.keys).toEqual([`${runId}:2`, `${runId}:2`]);
      expect(charge.attempts).toEqual([1, 2]);
    });
  });
}
