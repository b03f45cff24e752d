import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineAgent, scriptedModel, tool, TerminalOutcome, type Model } from '../../index.js';
import { MachineMismatchError, RunEndedError, Supervisor } from '../../agents/supervisor.js';
import { RunNotFoundError } from '../../agents/errors.js';
import type { SnapshotStore } from '../../persistence/store.js';
import { dyingInsideCommit, faulty } from '../support/faulty-store.js';
import { leaseExpired, sleep, until } from '../support/tools.js';
import { STORE_CASES } from './stores.js';

/** A side-effect ledger keyed by idempotency key: a second execution of one key is a duplicate. */
function ledger() {
  const done = new Map<string, number>();
  let executions = 0;
  return {
    record(key: string) {
      executions++;
      done.set(key, (done.get(key) ?? 0) + 1);
    },
    get executions() {
      return executions;
    },
    duplicates: () => [...done.values()].filter((n) => n > 1).length,
  };
}

/** A model whose calls are counted (a second call for one step is a second token bill). */
function countedModel(steps: Parameters<typeof scriptedModel>[0]): { model: Model; calls: () => number } {
  const inner = scriptedModel(steps);
  let calls = 0;
  return {
    model: { id: inner.id, generate: (req) => ((calls++), inner.generate(req)) },
    calls: () => calls,
  };
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

for (const storeCase of STORE_CASES) {
  describe(`durable runs on ${storeCase.name}`, () => {
    async function setup() {
      const s = await storeCase.create();
      cleanups.push(s.cleanup);
      return s;
    }
    async function supervisor(store: SnapshotStore, agents: Parameters<typeof Supervisor.open>[0]['agents'], workerId: string, leaseMs = 300) {
      const sup = await Supervisor.open({ store, agents, workerId, leaseMs });
      cleanups.push(() => sup.close({ timeoutMs: 100 }));
      return sup;
    }

    it('a command read again before the commit that acknowledges it is applied once, and acknowledged once', async () => {
      const { open } = await setup();
      const inner = await open();
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const acks: string[][] = [];
      // Commits that acknowledge commands wait at the gate: the commands stay queued while the run reads the queue again.
      const store = new Proxy(inner, {
        get(target, prop) {
          const value = Reflect.get(target, prop) as unknown;
          if (typeof value !== 'function') return value;
          if (prop !== 'commit') return (value as (...a: unknown[]) => unknown).bind(target);
          const commit: SnapshotStore['commit'] = async (c, fence) => {
            if (c.ackCommands.length > 0) {
              acks.push([...c.ackCommands]);
              await gate;
            }
            return target.commit(c, fence);
          };
          return commit;
        },
      });
      const pay = tool({ name: 'pay', description: 'p', input: z.object({}), sideEffect: 'non-idempotent', approval: true, run: () => 'paid' });
      const agent = defineAgent({ id: 'acks', goal: 'g', model: scriptedModel([{ call: 'pay', args: {} }, { answer: 'ok' }]), tools: [pay] });
      const sup = await supervisor(store, [agent], 'w1', 2_000);
      const run = await sup.start('acks', { runId: 'acks-1' });
      await until(async () => (await inner.load('acks-1'))?.summary.state === 'awaitingApproval');
      await inner.sendCommand('acks-1', { type: 'PAUSE', by: 'op', why: 'look', at: 1 });
      await until(() => acks.length === 1 && run.status().status === 'paused');
      // The second drain reads PAUSE (applied, not yet acknowledged) and RESUME.
      await inner.sendCommand('acks-1', { type: 'RESUME', by: 'op', at: 2 });
      await until(() => run.status().status === 'awaiting-approval');
      const queued = (await inner.peekCommands('acks-1')).map((q) => q.id);
      expect(queued).toHaveLength(2);
      release();
      await until(async () => (await inner.peekCommands('acks-1')).length === 0);
      expect(acks.flat()).toEqual(queued);
      expect((await inner.load('acks-1'))?.summary).toMatchObject({ status: 'running', state: 'awaitingApproval' });
      const paused = (await inner.traceRead('acks-1')).filter((e) => e.kind === 'transition' && e.to === 'paused');
      expect(paused).toHaveLength(1);
    });

    it('persists every transition with sequential versions and stores the terminal record', async () => {
      const { open } = await setup();
      const store = await open();
      const lookup = tool({ name: 'lookup', description: 'l', input: z.object({ id: z.string() }), sideEffect: 'none', run: ({ id }) => ({ id }) });
      const agent = defineAgent({ id: 'persist', goal: 'g', model: scriptedModel([{ call: 'lookup', args: { id: '1' } }, { answer: 'ok' }]), tools: [lookup] });
      const sup = await supervisor(store, [agent], 'w1');
      const run = await sup.start('persist', { runId: `persist-${storeCase.name}` });
      const outcome = await run.outcome;
      const record = await store.load(run.runId);
      expect(record?.summary).toMatchObject({ status: 'done', reason: 'COMPLETED', state: 'completed', turns: 2 });
      expect(TerminalOutcome.parse(record?.outcome)).toEqual(outcome);
      const trace = await store.traceRead(run.runId);
      const transitions = trace.filter((e) => e.kind === 'transition').map((e) => e.to);
      expect(transitions).toEqual(['planning', 'acting', 'planning', 'completed']);
      // At most one stored version per transition (the creation is version 1): transitions made while a
      // write is in flight go out together in the next one, and the trace lists every one of them.
      expect(record?.version).toBeGreaterThanOrEqual(3);
      expect(record?.version).toBeLessThanOrEqual(1 + transitions.length);
      expect(trace.filter((e) => e.kind === 'tool')).toHaveLength(1);
      expect(trace.filter((e) => e.kind === 'model')).toHaveLength(2);
      // The lease is released and the journal cleared once the run ended.
      expect((await store.readLease(run.runId))?.expiresAt).toBe(0);
    });

    it('observers see every start, transition, call and outcome; a throwing observer breaks nothing', async () => {
      const { open } = await setup();
      const store = await open();
      const seen = { starts: 0, transitions: [] as string[], calls: [] as string[], outcomes: [] as string[] };
      const lookup = tool({ name: 'lookup', description: 'l', input: z.object({}), sideEffect: 'none', run: () => 1 });
      const agent = defineAgent({ id: 'observed', goal: 'g', model: scriptedModel([{ call: 'lookup' }, { answer: 'ok' }]), tools: [lookup] });
      const sup = await Supervisor.open({
        store,
        agents: [agent],
        workerId: 'obs',
        observers: [
          { onTransition: () => { throw new Error('observer bug'); } },
          {
            onRunStart: () => void seen.starts++,
            onTransition: (_r, t) => void seen.transitions.push(t.to),
            onCall: (_r, c) => void seen.calls.push(c.kind === 'tool' ? `tool:${c.tool}` : 'model'),
            onOutcome: (_r, o) => void seen.outcomes.push(o.reason),
          },
        ],
      });
      cleanups.push(() => sup.close({ timeoutMs: 100 }));
      const run = await sup.start('observed', { runId: `observed-${storeCase.name}` });
      expect((await run.outcome).reason).toBe('COMPLETED');
      expect(seen).toEqual({ starts: 1, transitions: ['planning', 'acting', 'planning', 'completed'], calls: ['model', 'tool:lookup', 'model'], outcomes: ['COMPLETED'] });
    });

    it('a supervised run takes rate-limit tokens from the store by default, so every worker shares one bucket', async () => {
      const { open } = await setup();
      const counted = faulty(await open());
      const send = tool({ name: 'send', description: 's', input: z.object({ to: z.string() }), sideEffect: 'idempotent', rateLimit: { key: () => 'example.com', limit: 100, perMs: 1_000 }, run: () => 'sent' });
      const agent = defineAgent({ id: 'limited', goal: 'g', model: scriptedModel([{ call: 'send', args: { to: 'a@example.com' } }, { answer: 'ok' }]), tools: [send] });
      const sup = await supervisor(counted.store, [agent], 'rl');
      const run = await sup.start('limited', { runId: `limited-${storeCase.name}` });
      expect((await run.outcome).reason).toBe('COMPLETED');
      expect(counted.calls.get('rateAcquire')).toBe(1);
    });

    it('a call recorded done before the crash is not run again, and the model is not billed twice', async () => {
      const { open } = await setup();
      const base = await open();
      const effects = ledger();
      const charge = tool({
        name: 'charge',
        description: 'c',
        input: z.object({ amount: z.number() }),
        sideEffect: 'non-idempotent',
        run: async ({ amount }, ctx) => {
          effects.record(ctx.idempotencyKey);
          return { charged: amount };
        },
      });
      const m = countedModel([{ call: 'charge', args: { amount: 5 } }, { answer: 'charged' }]);
      const agent = defineAgent({ id: 'once', goal: 'g', model: m.model, tools: [charge] });
      // The process dies once the charge's result is durable, before the snapshot that moves past it is (step 1 is the model's).
      const dying = dyingInsideCommit(base, (c) => c.journalDone.some((d) => d.step === 2), 'results');
      const first = await supervisor(dying.store, [agent], 'w1', 200);
      const run = await first.start('once', { runId: `once-${storeCase.name}` });
      await until(dying.died);
      await leaseExpired(base, run.runId);
      const stored = await base.load(run.runId);
      expect(stored?.summary.state).toBe('acting');
      const second = await supervisor(base, [agent], 'w2', 200);
      const [recovered] = await second.recover();
      const outcome = await recovered!.outcome;
      expect(outcome.reason).toBe('COMPLETED');
      expect(effects.executions).toBe(1);
      expect(effects.duplicates()).toBe(0);
      // Model calls: turn 1 before the crash, turn 2 after: none repeated.
      expect(m.calls()).toBe(2);
    });

    it('an interrupted non-idempotent call without reconcile ends ACTION_IN_DOUBT after recovery', async () => {
      const { open } = await setup();
      const base = await open();
      const fault = faulty(base);
      const effects = ledger();
      const send = tool({
        name: 'send_email',
        description: 's',
        input: z.object({ to: z.string() }),
        sideEffect: 'non-idempotent',
        // The new owner decides only once the dead owner's window (its lease plus this timeout) has closed.
        timeoutMs: 300,
        run: async (_i, ctx) => {
          effects.record(ctx.idempotencyKey);
          fault.set('frozen'); // dies during the call: started is durable, done never will be
          await sleep(50);
          return 'sent';
        },
      });
      const agent = defineAgent({ id: 'doubt', goal: 'g', model: scriptedModel([{ call: 'send_email', args: { to: 'a@b.c' } }, { answer: 'ok' }]), tools: [send] });
      const first = await supervisor(fault.store, [agent], 'w1', 200);
      const run = await first.start('doubt', { runId: `doubt-${storeCase.name}` });
      await until(() => effects.executions === 1);
      await leaseExpired(base, run.runId);
      const second = await supervisor(base, [agent], 'w2', 200);
      const [recovered] = await second.recover();
      expect(await recovered!.outcome).toMatchObject({ reason: 'ACTION_IN_DOUBT', tool: 'send_email', idempotencyKey: `${run.runId}:2`, error: { name: 'InterruptedCall' } });
      expect(effects.executions).toBe(1);
    });

    it('an interrupted idempotent call is re-run after recovery', async () => {
      const { open } = await setup();
      const base = await open();
      const fault = faulty(base);
      let executions = 0;
      const put = tool({
        name: 'put',
        description: 'p',
        input: z.object({}),
        sideEffect: 'idempotent',
        run: async () => {
          if (++executions === 1) {
            fault.set('frozen');
            await sleep(50);
          }
          return 'stored';
        },
      });
      const agent = defineAgent({ id: 'idem', goal: 'g', model: scriptedModel([{ call: 'put' }, { answer: 'ok' }]), tools: [put] });
      const first = await supervisor(fault.store, [agent], 'w1', 200);
      const run = await first.start('idem', { runId: `idem-${storeCase.name}` });
      await until(() => executions === 1);
      await leaseExpired(base, run.runId);
      const second = await supervisor(base, [agent], 'w2', 200);
      const [recovered] = await second.recover();
      expect((await recovered!.outcome).reason).toBe('COMPLETED');
      expect(executions).toBe(2);
    });

    it('pause from another process reaches the owner; the run is resumed in a third after the owner dies', async () => {
      const { open } = await setup();
      const base = await open();
      const fault = faulty(base);
      let n = 0;
      const step = tool({ name: 'step', description: 's', input: z.object({ i: z.number() }), sideEffect: 'none', run: async ({ i }) => (await sleep(15), i) });
      const script = () => scriptedModel(({ turn }) => (turn <= 6 ? { call: 'step', args: { i: turn } } : { answer: 'done' }));
      const agent = defineAgent({ id: 'ctl', goal: 'g', model: script(), tools: [step], progress: false });
      const owner = await supervisor(fault.store, [agent], 'owner', 200);
      const operator = await supervisor(await open(), [agent], 'operator', 200);
      const run = await owner.start('ctl', { runId: `ctl-${storeCase.name}` });
      await until(() => run.status().turns >= 2);
      await operator.pause(run.runId, 'oncall', 'investigating');
      await until(() => run.status().status === 'paused', 3_000);
      await until(async () => (await base.load(run.runId))?.summary.status === 'paused');
      n = run.status().turns;
      fault.set('frozen'); // the owner process dies while the run is paused
      await leaseExpired(base, run.runId);
      const third = await supervisor(await open(), [agent], 'third', 200);
      const resumed = await third.resume(run.runId, 'oncall');
      expect(resumed).not.toBeNull();
      const outcome = await resumed!.outcome;
      expect(outcome).toMatchObject({ reason: 'COMPLETED', turns: 7 });
      expect(n).toBeGreaterThanOrEqual(2);
    });

    it('kill of a run nobody hosts is applied in the store: terminal record and trace kept, nothing resumable', async () => {
      const { open } = await setup();
      const base = await open();
      const fault = faulty(base);
      const wait = tool({ name: 'wait', description: 'w', input: z.object({}), sideEffect: 'none', run: () => sleep(40) });
      const agent = defineAgent({ id: 'kill', goal: 'g', model: scriptedModel([{ call: 'wait' }, { call: 'wait' }, { answer: 1 }]), tools: [wait] });
      const owner = await supervisor(fault.store, [agent], 'owner', 200);
      const run = await owner.start('kill', { runId: `kill-${storeCase.name}` });
      await until(() => run.status().state === 'acting');
      fault.set('frozen');
      await leaseExpired(base, run.runId);
      const operator = await supervisor(base, [agent], 'operator', 200);
      await operator.kill(run.runId, 'oncall', 'runaway');
      const record = await base.load(run.runId);
      expect(record).toMatchObject({ snapshot: null, summary: { status: 'done', reason: 'USER_KILLED' } });
      expect(TerminalOutcome.parse(record?.outcome)).toMatchObject({ reason: 'USER_KILLED', by: 'oncall', why: 'runaway' });
      expect((await base.traceRead(run.runId)).some((e) => e.kind === 'control')).toBe(true);
      await expect(operator.resume(run.runId)).rejects.toBeInstanceOf(RunEndedError);
    });

    it('refuses to rehydrate a run stored by another machine version', async () => {
      const { open } = await setup();
      const store = await open();
      const fault = faulty(store);
      const wait = tool({ name: 'wait', description: 'w', input: z.object({}), sideEffect: 'none', run: () => sleep(30) });
      const v1 = defineAgent({ id: 'ver', goal: 'g', model: scriptedModel([{ call: 'wait' }, { answer: 1 }]), tools: [wait], version: 'v1' });
      const v2 = defineAgent({ id: 'ver', goal: 'g', model: scriptedModel([{ call: 'wait' }, { answer: 1 }]), tools: [wait], version: 'v2' });
      const owner = await supervisor(fault.store, [v1], 'owner', 200);
      const run = await owner.start('ver', { runId: `ver-${storeCase.name}` });
      await until(() => run.status().state === 'acting');
      fault.set('frozen');
      await leaseExpired(store, run.runId);
      const other = await supervisor(store, [v2], 'other', 200);
      await expect(other.resume(run.runId)).rejects.toBeInstanceOf(MachineMismatchError);
      expect(await other.recover()).toEqual([]);
      await expect(other.pause('no-such-run', 'x', 'y')).rejects.toBeInstanceOf(RunNotFoundError);
    });
  });
}
