import { afterAll, beforeAll, describe, it } from 'vitest';
import { Supervisor } from '../../agents/supervisor.js';
import { buildAgents, CRASH_AGENTS, prng, uninterrupted } from './agents.js';
import { audit, type Baselines } from './audit.js';
import { memoryLedger, openLedger } from './effects.js';
import { canSpawnWorkers, cleanUp, delay, openStore, spawnWorker, STORE_CASES, waitUntil, type Worker } from './harness.js';
import type { EffectsSpec, StoreSpec } from './protocol.js';

/**
 * Random SIGKILLs: worker processes run a mix of agents (read-only,
 * idempotent, non-idempotent with reconcile, non-idempotent without) on both
 * stores at once, RedisStore and FileStore, and are killed at random points:
 * half by the test at a random time, half by themselves right before or right
 * after a random I/O operation on one of the stores (a Redis command, a
 * FileStore call; the two take turns).
 * Every worker also recovers the runs its killed predecessors left behind,
 * so kills land in recoveries too. Each kill is a trial for both stores (one
 * process start per trial is what the time goes on). Then, per store, the
 * test process recovers and resumes whatever is left, and audits every run
 * and every side effect.
 *
 * Replay a failure with CRASH_SEED=<the printed seed>; CRASH_TRIALS changes the count.
 */
const TRIALS = Number(process.env.CRASH_TRIALS ?? 50);
const SEED = Number(process.env.CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));
/** New runs per worker and store. */
const RUNS_PER_STORE = 3;
/** Workers loading while one is live: a worker takes ~1 s of CPU to start. */
const AHEAD = 2;
const LEASE_MS = 300;
/**
 * How long a worker killed by the test lives once its new runs have started
 * (creating a FileStore run takes several fsyncs, hundreds of milliseconds on
 * a busy disk: a life counted from `go` would mostly end before any run of it
 * got going). Kills in the middle of creating a run come from crash points.
 */
const LIFE_MS = { min: 0, max: 700 };
/**
 * Per store (RedisStore, FileStore): the operations a worker gets through in
 * about a life (the range of the crash points it inflicts on itself: Redis
 * commands, FileStore calls), and the upper bound of each tool and model
 * wait. Redis calls take well under a millisecond, so its runs wait longer
 * in their tools and model, and last about as long as FileStore runs: kills
 * then land inside calls on both.
 */
const OPS_IN_A_LIFE = [250, 40];
const JITTER_MS = [60, 40];
const RECOVER_EVERY_MS = 200;

interface Trial {
  readonly seed: number;
  readonly runs: Array<{ runId: string; agentId: string; store: number }>;
  readonly kill: { by: 'test'; afterMs: number } | { by: 'self'; op: number; when: 'before' | 'after'; store: number };
}

/** Everything the trials do, drawn from the seed up front so that the plan does not depend on timing. */
function plan(seed: number, stores: readonly string[]): Trial[] {
  const rand = prng(seed);
  return Array.from({ length: TRIALS }, (_, t) => {
    const trialSeed = Math.floor(rand() * 2 ** 31);
    const runs = stores.flatMap((tag, store) =>
      Array.from({ length: RUNS_PER_STORE }, (_, j) => ({ runId: `${tag}-t${t}-r${j}`, agentId: CRASH_AGENTS[Math.floor(rand() * CRASH_AGENTS.length)]!, store })),
    );
    const kill: Trial['kill'] =
      rand() < 0.5
        ? { by: 'test', afterMs: LIFE_MS.min + Math.floor(rand() * (LIFE_MS.max - LIFE_MS.min)) }
        : { by: 'self', store: t % stores.length, op: 1 + Math.floor(rand() * OPS_IN_A_LIFE[t % stores.length]!), when: rand() < 0.5 ? 'before' : 'after' };
    return { seed: trialSeed, runs, kill };
  });
}

afterAll(cleanUp);

describe.skipIf(!canSpawnWorkers())('SIGKILL at random points', () => {
  const stores: Array<{ name: string; tag: string; store: StoreSpec; effects: EffectsSpec }> = [];
  const acknowledged = new Set<string>();
  const problems: string[] = [];
  let trials: Trial[] = [];
  const kills = { byTest: 0, atOp: [0, 0], opNotReached: [0, 0] };
  let trialsSecs = 0;

  // ---- the trials: pre-spawned workers, one live at a time, each SIGKILLed ----
  beforeAll(async () => {
    const began = Date.now();
    for (const c of STORE_CASES) stores.push({ name: c.name, tag: c.name === 'RedisStore' ? 'r' : 'f', ...c.make() });
    trials = plan(SEED, stores.map((s) => s.tag));
    const [first, ...others] = stores;
    const also = others.map((s, i) => ({ store: s.store, effects: s.effects, jitterMs: JITTER_MS[i + 1]! }));
    const pending: Worker[] = [];
    let spawned = 0;
    const refill = () => {
      while (pending.length < AHEAD && spawned < trials.length) {
        pending.push(spawnWorker({ store: first!.store, effects: first!.effects, also, leaseMs: LEASE_MS, seed: trials[spawned]!.seed, jitterMs: JITTER_MS[0]! }));
        spawned++;
      }
    };
    for (const [t, trial] of trials.entries()) {
      refill();
      const worker = pending.shift()!;
      refill();
      await worker.ready;
      worker.go({ start: trial.runs, recoverEveryMs: RECOVER_EVERY_MS, crashAt: trial.kill.by === 'self' ? { op: trial.kill.op, when: trial.kill.when, store: trial.kill.store } : null });
      // A crash point not reached in a life gets the test's SIGKILL instead.
      const started = (id: string) => worker.messages.some((m) => m.type === 'started' && m.runId === id);
      const lived = async () => {
        await waitUntil(() => !worker.alive() || trial.runs.every((r) => started(r.runId)), 5_000, 'the new runs to start').catch(() => undefined);
        await delay(trial.kill.by === 'test' ? trial.kill.afterMs : LIFE_MS.max + 300);
      };
      const exitedFirst = await Promise.race([worker.exited.then(() => true), lived().then(() => false)]);
      if (!exitedFirst) await worker.kill9();
      const { code, signal } = await worker.exited;
      if (trial.kill.by === 'test') kills.byTest++;
      else kills[exitedFirst ? 'atOp' : 'opNotReached'][trial.kill.store]!++;
      if (signal !== 'SIGKILL') problems.push(`trial ${t}: worker exited by itself (code ${code}, signal ${signal}):\n${worker.stderr()}`);
      for (const m of worker.messages) {
        if (m.type === 'started') acknowledged.add(m.runId);
        if (m.type === 'error') problems.push(`trial ${t}: worker ${worker.pid} reported ${m.message}`);
      }
    }
    trialsSecs = (Date.now() - began) / 1000;
  }, 150_000);

  const baselines = async (): Promise<Baselines> => {
    const out: Baselines = {};
    for (const id of CRASH_AGENTS) out[id] = await uninterrupted(id, { ledger: memoryLedger(), rand: () => 0 });
    return out;
  };

  for (const [i, storeCase] of STORE_CASES.entries()) {
    it(`${storeCase.name}: ${TRIALS} killed workers; every run ends typed, no effect twice, ACTION_IN_DOUBT only without reconcile, no run lost`, async ({ expect }) => {
      const began = Date.now();
      const { store: storeSpec, effects: effectsSpec } = stores[i]!;
      const planned = new Set(trials.flatMap((t) => t.runs.filter((r) => r.store === i).map((r) => r.runId)));
      const mine = new Set([...acknowledged].filter((id) => planned.has(id)));

      // ---- the last recovery: this process takes over and drives every run it can find to its end ----
      const store = await openStore(storeSpec);
      const ledger = openLedger(effectsSpec);
      const sweeper = await Supervisor.open({ store, agents: buildAgents({ ledger, rand: prng(SEED) }), leaseMs: 2_000, workerId: 'sweeper' });
      const sweepProblems: string[] = [];
      const deadline = Date.now() + 30_000;
      for (;;) {
        await sweeper.recover();
        for (const paused of await store.list({ status: 'paused' })) {
          await sweeper.resume(paused.runId, 'sweeper').catch((e: unknown) => sweepProblems.push(`resume ${paused.runId}: ${(e as Error).message}`));
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
      const report = await audit(store, planned, mine, effects, await baselines());
      const reRuns = [...executions].filter(([k, n]) => !k.startsWith('model|') && n > 1).length;
      const reAsks = [...executions].filter(([k, n]) => k.startsWith('model|') && n > 1).length;
      console.log(
        `[crash] ${storeCase.name} seed=${SEED} trials=${trials.length} (SIGKILL by the test ${kills.byTest}, self-SIGKILL at a ${storeCase.name} op ${kills.atOp[i]}, at a ${STORE_CASES[1 - i]!.name} op ${kills.atOp[1 - i]}, op not reached ${kills.opNotReached[0]! + kills.opNotReached[1]!}) ` +
          `runs=${report.runs} (acknowledged ${mine.size}) duplicates=${report.duplicates.length} lost=${report.lost.length} stranded=${report.stranded.length} in-doubt=${report.inDoubt} ` +
          `reasons=${JSON.stringify(report.byReason)} double-steps=${report.doubleSteps.length} re-runs=${reRuns} model-re-asks=${reAsks} ` +
          `time: trials ${trialsSecs.toFixed(1)}s (both stores), last recovery and audit ${((Date.now() - began) / 1000).toFixed(1)}s`,
      );
      await ledger.close();
      await store.close();

      const replay = `replay with CRASH_SEED=${SEED}`;
      expect.soft(problems, `worker problems; ${replay}`).toEqual([]);
      expect.soft(sweepProblems, `last recovery; ${replay}`).toEqual([]);
      expect.soft(report.duplicates, `effects that happened twice; ${replay}`).toEqual([]);
      expect.soft(report.doubleSteps, `calls whose effect happened under two attempts; ${replay}`).toEqual([]);
      expect.soft(report.lost, `acknowledged runs not ended; ${replay}`).toEqual([]);
      expect.soft(report.stranded, `runs in the store that no recover() reaches; ${replay}`).toEqual([]);
      expect.soft(report.problems, `runs that ended wrong; ${replay}`).toEqual([]);
      expect(trials.length).toBeGreaterThanOrEqual(TRIALS);
    }, 60_000);
  }
});
