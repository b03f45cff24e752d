import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { z } from 'zod';
import { Supervisor } from '../../agents/supervisor.js';
import { journalKeyOf } from '../../machines/agent-machine.js';
import { defineAgent, scriptedModel, tool } from '../../index.js';
import { StoreUnavailableError } from '../../persistence/errors.js';
import { RedisStore } from '../../persistence/redis-store.js';
import type { RunCommit, SnapshotStore } from '../../persistence/store.js';
import { STORE_CASES } from '../durable/stores.js';
import { freshPrefix, waitUntil } from './harness.js';

/**
 * In-process, step-by-step versions of what the process-level crash tests
 * can only hit by timing: each stops a "worker" at an exact point (a store
 * handle whose chosen calls fail, or hang) and checks the guarantee that
 * must hold there. Deterministic, so a failure here is a repro.
 */
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** A store handle whose calls can fail (`down`), hang forever (`frozen`), or fail only for chosen methods. */
function handle(store: SnapshotStore) {
  const state = { mode: 'ok' as 'ok' | 'down' | 'frozen', failing: new Set<string>(), hook: null as null | ((method: string, args: unknown[], result: unknown) => void) };
  const proxy = new Proxy(store, {
    get(target, prop) {
      const value = Reflect.get(target, prop) as unknown;
      if (typeof value !== 'function') return value;
      const method = String(prop);
      return async (...args: unknown[]) => {
        if (method !== 'close' && state.mode === 'frozen') return new Promise(() => {});
        if (method !== 'close' && (state.mode === 'down' || state.failing.has(method))) throw new StoreUnavailableError(`${method}: connection lost (injected)`);
        const result = await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        state.hook?.(method, args, result);
        return result;
      };
    },
  });
  return { store: proxy, state };
}

/** A gate a tool waits on until the test opens it. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return { opened, open };
}

for (const storeCase of STORE_CASES) {
  describe(`fencing and retries, step by step, ${storeCase.name}`, () => {
    async function setup() {
      const s = await storeCase.create();
      cleanups.push(s.cleanup);
      return s.open();
    }
    async function supervisor(store: SnapshotStore, agents: Parameters<typeof Supervisor.open>[0]['agents'], workerId: string, leaseMs: number) {
      const sup = await Supervisor.open({ store, agents, workerId, leaseMs });
      cleanups.push(() => sup.close({ timeoutMs: 100 }));
      return sup;
    }

    it('a worker that lost its lease does not clear the new owner’s journal: a later crash of the new owner cannot repeat a non-idempotent call', async () => {
      const base = await setup();
      const effects = new Map<string, number>();
      const first = { blockIn: 'A' as string | null, gate: gate(), entered: false };
      const pay = { gate: gate(), entered: false };
      const read = tool({
        name: 'read',
        description: 'r',
        input: z.object({}),
        sideEffect: 'none',
        run: async () => {
          if (first.blockIn === 'A') {
            first.entered = true;
            await first.gate.opened;
          }
          return 'read';
        },
      });
      const charge = tool({
        name: 'charge',
        description: 'c',
        input: z.object({}),
        sideEffect: 'non-idempotent',
        // C decides about B's unfinished charge once B's window (its lease plus this timeout) has closed.
        timeoutMs: 500,
        run: async (_i, ctx) => {
          effects.set(ctx.idempotencyKey, (effects.get(ctx.idempotencyKey) ?? 0) + 1);
          pay.entered = true;
          await pay.gate.opened;
          return 'charged';
        },
      });
      const agent = defineAgent({ id: 'fence', goal: 'g', model: scriptedModel([{ call: 'read' }, { call: 'charge' }, { answer: 'ok' }]), tools: [read, charge] });

      // A: its read call hangs; its store stops answering renewals, so its lease runs out while it is busy.
      const a = handle(base);
      const workerA = await supervisor(a.store, [agent], 'A', 300);
      const run = await workerA.start('fence', { runId: `fence-${storeCase.name}` });
      await waitUntil(() => first.entered, 5_000, 'A inside read');
      // Cut off from the store's leases (as a partitioned worker is): it can neither renew nor take the run back.
      for (const op of ['renewLease', 'acquireLease', 'releaseLease']) a.state.failing.add(op);
      await new Promise((r) => setTimeout(r, 450));

      // B takes over, re-runs the read, and is inside the charge (journal: started).
      first.blockIn = null;
      const b = handle(base);
      const workerB = await supervisor(b.store, [agent], 'B', 300);
      const [taken] = await workerB.recover();
      expect(taken?.runId).toBe(run.runId);
      await waitUntil(() => pay.entered, 5_000, 'B inside charge');
      const chargeKey = [...effects.keys()][0]!;
      // The checkpoint of the call's first attempt (the journal keeps one per attempt of the logical call).
      const checkpoint = journalKeyOf(run.runId, { step: Number(chargeKey.split(':')[1]), attempt: 1 });
      expect(await base.journalGet(run.runId, checkpoint)).toMatchObject({ status: 'started' });

      // A wakes up: its read returns, its journal write is refused.
      first.gate.open();
      await new Promise((r) => setTimeout(r, 100));
      // B's checkpoint must still be there: it is what tells the next owner that the charge may have happened.
      const entry = await base.journalGet(run.runId, checkpoint);

      // B dies inside the charge; C recovers the run.
      b.state.mode = 'frozen';
      await new Promise((r) => setTimeout(r, 450));
      const workerC = await supervisor(base, [agent], 'C', 300);
      pay.gate.open();
      const [recovered] = await workerC.recover();
      const outcome = await recovered!.outcome;

      expect.soft(entry, 'B’s journal entry after A (no longer the owner) finished its run').toMatchObject({ status: 'started' });
      expect.soft(Math.max(...effects.values()), `charge effects by key ${JSON.stringify([...effects])}`).toBe(1);
      expect.soft(outcome, 'C’s outcome').toMatchObject({ reason: 'ACTION_IN_DOUBT', tool: 'charge', idempotencyKey: chargeKey });
    });

    it('a worker that lost its lease stops its run; its handle reports the new owner\'s outcome, never one of its own', async () => {
      const base = await setup();
      const g = gate();
      let entered = false;
      const read = tool({ name: 'read', description: 'r', input: z.object({}), sideEffect: 'none', run: async () => ((entered = true), await g.opened, 'read') });
      const agent = defineAgent({ id: 'handle', goal: 'g', model: scriptedModel([{ call: 'read' }, { answer: 'ok' }]), tools: [read] });
      const a = handle(base);
      const workerA = await supervisor(a.store, [agent], 'A', 300);
      const runA = await workerA.start('handle', { runId: `handle-${storeCase.name}` });
      await waitUntil(() => entered, 5_000, 'A inside read');
      // Cut off from the store's leases (as a partitioned worker is): it can neither renew nor take the run back.
      for (const op of ['renewLease', 'acquireLease', 'releaseLease']) a.state.failing.add(op);
      await new Promise((r) => setTimeout(r, 450));
      const workerB = await supervisor(base, [agent], 'B', 300);
      const [runB] = await workerB.recover();
      g.open();
      const outcomeB = await runB!.outcome;
      expect(outcomeB.reason).toBe('COMPLETED');
      // One run, one outcome: A's handle follows the run to B's outcome; it never reports one of its own (a stale lease).
      expect(await runA.outcome).toEqual(outcomeB);
    });

    it('a journal start whose reply was lost is not mistaken for a crashed call (no ACTION_IN_DOUBT without a crash)', async () => {
      const base = await setup();
      const h = handle(base);
      let executions = 0;
      const send = tool({ name: 'send', description: 's', input: z.object({}), sideEffect: 'non-idempotent', run: () => (executions++, 'sent') });
      const agent = defineAgent({ id: 'lostreply', goal: 'g', model: scriptedModel([{ call: 'send' }, { answer: 'ok' }]), tools: [send] });
      // The tool's journal start reaches the store, but the connection drops before the reply (as when Redis dies right after the write).
      let dropped = false;
      const commit = base.commit.bind(base);
      h.store.commit = async (c, fence) => {
        const result = await commit(c, fence);
        if (!dropped && c.journalStart?.step === 2) {
          dropped = true;
          throw new StoreUnavailableError('connection lost after the command was sent (injected)');
        }
        return result;
      };
      const sup = await supervisor(h.store, [agent], 'W', 5_000);
      const run = await sup.start('lostreply', { runId: `lostreply-${storeCase.name}` });
      const outcome = await run.outcome;
      expect(dropped).toBe(true);
      // Nothing crashed and the call was never made: it must be made now, once.
      expect(outcome.reason).toBe('COMPLETED');
      expect(executions).toBe(1);
    });

    it('two overlapping recover() calls in one process host a run once', async () => {
      const base = await setup();
      const a = handle(base);
      let executions = 0;
      let hang = true;
      const put = tool({
        name: 'put',
        description: 'p',
        input: z.object({}),
        sideEffect: 'idempotent',
        run: async () => {
          executions++;
          if (hang) await new Promise(() => {});
          return 'stored';
        },
      });
      const agent = defineAgent({ id: 'twice', goal: 'g', model: scriptedModel([{ call: 'put' }, { answer: 'ok' }]), tools: [put] });
      const workerA = await supervisor(a.store, [agent], 'A', 200);
      await workerA.start('twice', { runId: `twice-${storeCase.name}` });
      await waitUntil(() => executions === 1, 5_000, 'A inside put');
      a.state.mode = 'frozen'; // A dies inside the call
      await new Promise((r) => setTimeout(r, 300));
      hang = false;
      executions = 0;
      const workerB = await supervisor(base, [agent], 'B', 5_000);
      // e.g. a worker's start-up recovery and a periodic one, or two operators' requests, at the same time
      const [first, second] = await Promise.all([workerB.recover(), workerB.recover()]);
      const handles = [...first, ...second];
      const outcomes = await Promise.all(handles.map((r) => r.outcome));
      expect.soft(handles.length, 'local handles of the one run').toBe(1);
      expect.soft(executions, 'executions of the interrupted call after recovery').toBe(1);
      expect.soft(outcomes.map((o) => o.reason)).toEqual(['COMPLETED']);
    });

    it('a run the writer paused because the store was down goes on by itself once writes go through again', async () => {
      const base = await setup();
      const h = handle(base);
      const read = tool({ name: 'read', description: 'r', input: z.object({}), sideEffect: 'none', run: () => 'read' });
      const agent = defineAgent({ id: 'stall', goal: 'g', model: scriptedModel([{ call: 'read' }, { call: 'read' }, { answer: 'ok' }]), tools: [read] });
      // The store goes down once the first tool call's result is on its way: the next snapshot write cannot land.
      h.state.hook = (method, args) => {
        if (method === 'commit' && (args[0] as RunCommit).journalDone.some((d) => d.step === 2)) h.state.mode = 'down';
      };
      const sup = await Supervisor.open({ store: h.store, agents: [agent], workerId: 'W', leaseMs: 5_000, writeRetry: { baseDelayMs: 20, maxDelayMs: 50, stallAfter: 3 } });
      cleanups.push(() => sup.close({ timeoutMs: 100 }));
      const run = await sup.start('stall', { runId: `stall-${storeCase.name}` });
      // Three failed attempts (20 + 40 + 50 ms apart) and the writer has given up and asked the run to pause.
      await waitUntil(() => h.state.mode === 'down', 5_000, 'the store to go down');
      await new Promise((r) => setTimeout(r, 500));
      h.state.hook = null;
      h.state.mode = 'ok';
      const outcome = await Promise.race([run.outcome, new Promise((r) => setTimeout(() => r('not ended'), 2_000))]);
      const status = run.status();
      expect(outcome, `status ${status.status}, paused ${JSON.stringify(status.paused)}`).toMatchObject({ reason: 'COMPLETED' });
    });
  });
}

describe('RedisStore: a worker that dies between storing a new run and indexing it', () => {
  it('the stored run is still found by recover() (it is not left running forever, unlisted)', async () => {
    const url = inject('redisUrl');
    const prefix = freshPrefix('idx');
    const lua = readFileSync(new URL('../../persistence/redis/lua/create-run.lua', import.meta.url), 'utf8');
    const sha = createHash('sha1').update(lua).digest('hex');
    // The creating worker's connection: once create-run has been answered, nothing more it sends reaches Redis (the process is gone).
    const client = new Redis(url, { maxRetriesPerRequest: 1 });
    let dead = false;
    type Cmd = { name: string; args: unknown[]; promise: Promise<unknown> };
    const send = client.sendCommand.bind(client) as (command: Cmd, stream?: unknown) => unknown;
    (client as unknown as { sendCommand: typeof send }).sendCommand = (command, stream) => {
      if (dead) return command.promise; // never sent, never answered
      const sent = send(command, stream);
      const isCreate = (command.name === 'evalsha' && command.args[0] === sha) || (command.name === 'eval' && command.args[0] === lua);
      if (isCreate) void command.promise.then(() => (dead = true));
      return sent;
    };
    const read = tool({ name: 'read', description: 'r', input: z.object({}), sideEffect: 'none', run: () => 'read' });
    const agent = defineAgent({ id: 'created', goal: 'g', model: scriptedModel([{ call: 'read' }, { answer: 'ok' }]), tools: [read] });
    const crashed = new RedisStore({ redis: client, prefix });
    const first = await Supervisor.open({ store: crashed, agents: [agent], workerId: 'first', leaseMs: 300 });
    const runId = 'created-then-died';
    void first.start('created', { runId }); // never returns: the worker died inside it
    await waitUntil(() => dead, 5_000, 'create-run to be answered');

    const store = new RedisStore({ url, prefix });
    const next = await Supervisor.open({ store, agents: [agent], workerId: 'next', leaseMs: 300 });
    cleanups.push(async () => {
      await next.close({ timeoutMs: 500 });
      await store.close();
      await first.close({ timeoutMs: 100 });
      await crashed.close();
      client.disconnect();
    });
    await new Promise((r) => setTimeout(r, 400));
    const record = await store.load(runId);
    expect(record?.summary).toMatchObject({ status: 'running' });
    const recovered = await next.recover();
    expect(recovered.map((r) => r.runId), 'runs recover() found').toContain(runId);
  });
});
