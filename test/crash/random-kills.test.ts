import { afterAll, describe, it } from 'vitest';
import { Supervisor } from '../../agents/supervisor.js';
import { buildAgents, CRASH_AGENTS, prng, uninterrupted } from './agents.js';
import { audit, type Baselines } from './audit.js';
import { memoryLedger, openLedger } from './effects.js';
import { canSpawnWorkers, cleanUp, delay, openStore, spawnWorker, STORE_CASES, type StoreCase, type Worker } from './harness.js';

/**
 * Random SIGKILLs: worker processes run a mix of agents (read-only,
 * idempotent, non-idempotent with reconcile, non-idempotent without) and are
 * killed at random points, half by the test at a random time, half by
 * themselves right before or right after a random store I/O operation (a
 * Redis command; a FileStore call). Every worker also recovers the runs its
 * killed predecessors left behind, so kills land in recoveries too. At the
 * end the test process recovers and resumes whatever is left, and audits
 * every run and every side effect.
 *
 * Replay a failure with CRASH_SEED=<the printed seed>; CRASH_TRIALS changes the count.
 */
const TRIALS = Number(process.env.CRASH_TRIALS ?? 50);
const SEED = Number(process.env.CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));
/** New runs per worker. */
const RUNS_PER_WORKER = 3;
/** Workers loading while one is live: a worker takes ~1 s of CPU to start. */
const AHEAD = 2;
const LEASE_MS = 300;
/**
 * How long a worker killed by the test lives after `go`, and how many store
 * operations it gets through in about that long (the range of the crash
 * points it inflicts on itself). FileStore operations take milliseconds
 * (fsync), so its workers live longer and its tools take longer, or kills
 * would rarely land inside a tool call.
 */
const LIFE: Record<StoreCase['name'], { minMs: number; maxMs: number; ops: number; jitterMs: number; recoverEveryMs: number }> = {
  RedisStore: { minMs: 50, maxMs: 400, ops: 250, jitterMs: 12, recoverEveryMs: 100 },
  // FileStore's list() reads every record: a worker looks for orphans less often.
  FileStore: { minMs: 100, maxMs: 900, ops: 60, jitterMs: 40, recoverEveryMs: 250 },
};

interface Trial {
  readonly seed: number;
  readonly runs: Array<{ runId: string; agentId: string }>;
  readonly kill: { by: 'test'; afterMs: number } | { by: 'self'; op: number; when: 'before' | 'after' };
}

/** Everything the trials do, drawn from the seed up front so that the plan does not depend on timing. */
function plan(seed: number, tag: string, life: (typeof LIFE)[StoreCase['name']]): Trial[] {
  const rand = prng(seed);
  return Array.from({ length: TRIALS }, (_, t) => {
    const trialSeed = Math.floor(rand() * 2 ** 31);
    const runs = Array.from({ length: RUNS_PER_WORKER }, (_, j) => ({ runId: `${tag}-t${t}-r${j}`, agentId: CRASH_AGENTS[Math.floor(rand() * CRASH_AGENTS.length)]! }));
    const kill: Trial['kill'] =
      rand() < 0.5
        ? { by: 'test', afterMs: life.minMs + Math.floor(rand() * (life.maxMs - life.minMs)) }
        : { by: 'self', op: 1 + Math.floor(rand() * life.ops), when: rand() < 0.5 ? 'before' : 'after' };
    return { seed: trialSeed, runs, kill };
  });
}

afterAll(cleanUp);

async function baselines(): Promise<Baselines> {
  const out: Baselines = {};
  for (const id of CRASH_AGENTS) out[id] = await uninterrupted(id, { ledger: memoryLedger(), rand: () => 0 });
  return out;
}

describe.skipIf(!canSpawnWorkers())('SIGKILL at random points', () => {
  for (const storeCase of STORE_CASES) {
    it(`${storeCase.name}: ${TRIALS} killed workers; every run ends typed, no effect twice, ACTION_IN_DOUBT only without reconcile, no run lost`, async ({ expect }) => {
      const began = Date.now();
      const { store: storeSpec, effects: effectsSpec } = storeCase.make();
      const life = LIFE[storeCase.name];
      const trials = plan(SEED, storeCase.name === 'RedisStore' ? 'r' : 'f', life);
      const expected = await baselines();

      // ---- the trials: pre-spawned workers, one live at a time, each killed ----
      const pending: Worker[] = [];
      let spawned = 0;
      const refill = () => {
        while (pending.length < AHEAD && spawned < trials.length) {
          pending.push(spawnWorker({ store: storeSpec, effects: effectsSpec, leaseMs: LEASE_MS, seed: trials[spawned]!.seed, jitterMs: life.jitterMs }));
          spawned++;
        }
      };
      const acknowledged = new Set<string>();
      const planned = new Set<string>();
      const selfKills = { reached: 0, notReached: 0 };
      const problems: string[] = [];
      for (const [t, trial] of trials.entries()) {
        refill();
        const worker = pending.shift()!;
        refill();
        await worker.ready;
        for (const r of trial.runs) planned.add(r.runId);
        worker.go({ start: trial.runs, recoverEveryMs: life.recoverEveryMs, crashAt: trial.kill.by === 'self' ? { op: trial.kill.op, when: trial.kill.when } : null });
        // A crash point not reached in a life gets the test's SIGKILL instead.
        const afterMs = trial.kill.by === 'test' ? trial.kill.afterMs : life.maxMs + 200;
        const exitedFirst = await Promise.race([worker.exited.then(() => true), delay(afterMs).then(() => false)]);
        if (!exitedFirst) await worker.kill9();
        const { code, signal } = await worker.exited;
        if (trial.kill.by === 'self') selfKills[exitedFirst ? 'reached' : 'notReached']++;
        if (signal !== 'SIGKILL') problems.push(`trial ${t}: worker exited by itself (code ${code}, signal ${signal}):\n${worker.stderr()}`);
        for (const m of worker.messages) {
          if (m.type === 'started') acknowledged.add(m.runId);
          if (m.type === 'error') problems.push(`trial ${t}: worker ${worker.pid} reported ${m.message}`);
        }
      }
      const trialsDone = Date.now();

      // ---- the last recovery: this process takes over and drives every run it can find to its end ----
      const store = await openStore(storeSpec);
      const ledger = openLedger(effectsSpec);
      const sweeper = await Supervisor.open({ store, agents: buildAgents({ ledger, rand: prng(SEED) }), leaseMs: 2_000, workerId: 'sweeper' });
      const deadline = Date.now() + 30_000;
      for (;;) {
        await sweeper.recover();
        for (const paused of await store.list({ status: 'paused' })) {
          await sweeper.resume(paused.runId, 'sweeper').catch((e: unknown) => problems.push(`resume ${paused.runId}: ${(e as Error).message}`));
        }
        await Promise.all(sweeper.hosted().map((r) => r.outcome));
        // Done when nothing recover() or resume() could still reach is left (runs whose dead owner's lease still runs are listed).
        const reachable = [...(await store.list({ status: 'running' })), ...(await store.list({ status: 'paused' }))].filter((s) => planned.has(s.runId));
        if (reachable.length === 0 || Date.now() > deadline) break;
        await delay(100);
      }
      await sweeper.close({ timeoutMs: 2_000 });

      // ---- the audit ----
      const effects = await ledger.effects();
      const executions = await ledger.executions();
      const report = await audit(store, planned, acknowledged, effects, expected);
      const reRuns = [...executions].filter(([k, n]) => !k.startsWith('model|') && n > 1).length;
      const reAsks = [...executions].filter(([k, n]) => k.startsWith('model|') && n > 1).length;
      const killsByTest = trials.filter((t) => t.kill.by === 'test').length;
      console.log(
        `[crash] ${storeCase.name} seed=${SEED} trials=${trials.length} (SIGKILL by the test ${killsByTest}, self-SIGKILL at a store op ${selfKills.reached}, op not reached ${selfKills.notReached}) ` +
          `runs=${report.runs} (acknowledged ${acknowledged.size}) duplicates=${report.duplicates.length} lost=${report.lost.length} stranded=${report.stranded.length} in-doubt=${report.inDoubt} ` +
          `reasons=${JSON.stringify(report.byReason)} double-steps=${report.doubleSteps.length} re-runs=${reRuns} model-re-asks=${reAsks} ` +
          `time=${((Date.now() - began) / 1000).toFixed(1)}s (trials ${((trialsDone - began) / 1000).toFixed(1)}s)`,
      );
      await ledger.close();
      await store.close();

      const replay = `replay with CRASH_SEED=${SEED}`;
      expect.soft(problems, `worker problems; ${replay}`).toEqual([]);
      expect.soft(report.duplicates, `effects that happened twice; ${replay}`).toEqual([]);
      expect.soft(report.doubleSteps, `calls whose effect happened under two attempts; ${replay}`).toEqual([]);
      expect.soft(report.lost, `acknowledged runs not ended; ${replay}`).toEqual([]);
      expect.soft(report.stranded, `runs in the store that no recover() reaches; ${replay}`).toEqual([]);
      expect.soft(report.problems, `runs that ended wrong; ${replay}`).toEqual([]);
      for (const runId of acknowledged) expect(planned.has(runId)).toBe(true);
    }, 150_000);
  }
});
