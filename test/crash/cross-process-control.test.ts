import { afterAll, describe, it } from 'vitest';
import { Supervisor } from '../../agents/supervisor.js';
import { TerminalOutcome } from '../../machines/outcome.js';
import { buildAgents, CONTROL_TURNS, prng, uninterrupted } from './agents.js';
import { memoryLedger } from './effects.js';
import { canSpawnWorkers, cleanUp, delay, is, openStore, spawnWorker, STORE_CASES, waitUntil, type StoreCase, type Worker } from './harness.js';

/**
 * Operator commands across processes, end to end: a run started in process 1
 * is paused from process 2 (this test), process 1 is SIGKILLed while the run
 * is paused, and process 3 resumes it; it must end exactly as an
 * uninterrupted run of the same scripted agent. A kill from another process
 * must reach the owning worker within a second.
 */
const LEASE_MS = 1_000;

afterAll(cleanUp);

/** One test's store, its operator (process 2: this test process) and helpers. */
async function context(storeCase: StoreCase) {
  const specs = storeCase.make();
  const store = await openStore(specs.store);
  const operator = await Supervisor.open({ store, agents: buildAgents({ ledger: memoryLedger(), rand: prng(0) }), leaseMs: LEASE_MS, workerId: 'operator' });
  return {
    store,
    operator,
    spawn: (seed: number) => spawnWorker({ ...specs, leaseMs: LEASE_MS, seed }),
    turns: async (runId: string) => (await store.load(runId))?.summary.turns ?? 0,
    status: async (runId: string) => (await store.load(runId))?.summary.status,
    /** The owner is dead; its lease runs out on its own. */
    leaseExpired: (runId: string) =>
      waitUntil(async () => ((await store.readLease(runId))?.expiresAt ?? 0) < Date.now(), LEASE_MS + 2_000, 'the dead owner’s lease to expire', 25),
    close: async (...workers: Worker[]) => {
      await Promise.all(workers.map((w) => w.kill9()));
      await operator.close({ timeoutMs: 500 });
      await store.close();
    },
  };
}

describe.skipIf(!canSpawnWorkers())('operator commands across processes: pause from process 2, owner killed while paused, resumed in process 3', () => {
  for (const storeCase of STORE_CASES) {
    it.concurrent(`${storeCase.name}: pause from process 2 reaches process 1; process 1 is killed while paused; process 3 resumes the run to the uninterrupted outcome`, async ({ expect }) => {
      const { store, operator, spawn, turns, status, leaseExpired, close } = await context(storeCase);
      const p1 = spawn(1);
      const p3 = spawn(3);
      await Promise.all([p1.ready, p3.ready]);
      const runId = `ctl-${storeCase.name}`;
      await p1.call('start', 'ctl', runId);
      await waitUntil(async () => (await turns(runId)) >= 2, 10_000, 'two turns');

      const asked = Date.now();
      await operator.pause(runId, 'oncall', 'investigating');
      await waitUntil(async () => (await status(runId)) === 'paused', 20_000, 'the run to be paused in the store', 5);
      const pauseMs = Date.now() - asked;
      const pausedAt = await turns(runId);
      await p1.kill9();

      await leaseExpired(runId);
      const resumed = await p3.call<string | null>('resume', runId, 'oncall');
      expect(resumed, 'process 3 hosts the resumed run').toBe(runId);
      const outcome = TerminalOutcome.parse((await p3.waitFor(is.outcome(runId), 15_000, 'the outcome')).outcome);
      const stored = TerminalOutcome.parse((await store.load(runId))?.outcome);
      const baseline = await uninterrupted('ctl', { ledger: memoryLedger(), rand: prng(0) });
      const trace = await store.traceRead(runId);
      console.log(`[crash] control ${storeCase.name}: pause reached the owner in ${pauseMs} ms (at turn ${pausedAt}), owner SIGKILLed, resumed in process 3: ${outcome.reason} after ${outcome.turns} turns`);
      expect(pauseMs).toBeLessThan(1_000);
      expect(pausedAt).toBeLessThan(CONTROL_TURNS);
      expect(p1.outcomes.has(runId)).toBe(false);
      expect({ reason: outcome.reason, result: outcome.reason === 'COMPLETED' ? outcome.result : null, turns: outcome.turns }).toEqual(baseline);
      expect(stored).toEqual(outcome);
      expect(trace.some((e) => e.kind === 'transition' && e.to === 'paused')).toBe(true);
      await close(p3);
    }, 40_000);
  }
});

describe.skipIf(!canSpawnWorkers())('operator commands across processes: kill from process 2', () => {
  for (const storeCase of STORE_CASES) {
    it.concurrent(`${storeCase.name}: kill from process 2 reaches the owning worker within a second`, async ({ expect }) => {
      const { store, operator, spawn, turns, close } = await context(storeCase);
      const p1 = spawn(4);
      await p1.ready;
      const runId = `ctl-kill-${storeCase.name}`;
      await p1.call('start', 'ctl', runId);
      await waitUntil(async () => (await turns(runId)) >= 2, 10_000, 'two turns');
      const asked = Date.now();
      await operator.kill(runId, 'oncall', 'runaway');
      const reported = await p1.waitFor(is.outcome(runId), 3_000, 'the owner to report USER_KILLED');
      const killMs = Date.now() - asked;
      const outcome = TerminalOutcome.parse(reported.outcome);
      const stored = await store.load(runId);
      console.log(`[crash] control ${storeCase.name}: kill reached the owning worker in ${killMs} ms (${outcome.reason} at turn ${outcome.turns})`);
      expect(outcome).toMatchObject({ reason: 'USER_KILLED', by: 'oncall', why: 'runaway' });
      expect(killMs).toBeLessThan(1_000);
      expect(stored?.summary).toMatchObject({ status: 'done', reason: 'USER_KILLED' });
      expect(TerminalOutcome.parse(stored?.outcome)).toEqual(outcome);
      await close(p1);
    }, 30_000);
  }
});

describe.skipIf(!canSpawnWorkers())('operator commands across processes: resume while the dead owner’s lease still runs', () => {
  for (const storeCase of STORE_CASES) {
    it.concurrent(`${storeCase.name}: a resume sent while the dead owner’s lease still runs is not lost: a live worker finishes the run`, async ({ expect }) => {
      const { store, operator, spawn, turns, status, close } = await context(storeCase);
      const p1 = spawn(5);
      const p3 = spawn(6);
      await Promise.all([p1.ready, p3.ready]);
      const runId = `ctl-early-${storeCase.name}`;
      await p1.call('start', 'ctl', runId);
      await waitUntil(async () => (await turns(runId)) >= 2, 10_000, 'two turns');
      await operator.pause(runId, 'oncall', 'investigating');
      await waitUntil(async () => (await status(runId)) === 'paused', 20_000, 'the run to be paused in the store', 5);
      await p1.kill9();
      // The operator resumes at once, before the dead owner's lease has run out.
      const early = await p3.call<string | null>('resume', runId, 'oncall');
      // p3 stays up and recovers what it can, as a worker does; the run must end one way or another.
      let ended = early !== null;
      const deadline = Date.now() + LEASE_MS + 4_000;
      while (!ended && Date.now() < deadline) {
        await p3.call('recover');
        ended = (await status(runId)) === 'done' || p3.outcomes.has(runId);
        await delay(200);
      }
      if (early !== null) await p3.waitFor(is.outcome(runId), 15_000, 'the outcome');
      const record = await store.load(runId);
      console.log(`[crash] control ${storeCase.name}: resume while the dead owner's lease ran: resume() gave ${early === null ? 'null (command queued)' : 'the local run'}; ${LEASE_MS + 4_000} ms later the run is ${record?.summary.status} (${record?.summary.reason ?? record?.summary.state})`);
      await close(p3);
      expect(record?.summary.status, 'a queued RESUME for a run whose owner died must reach whoever hosts the run next').toBe('done');
      expect(record?.summary.reason).toBe('COMPLETED');
    }, 40_000);
  }
});
