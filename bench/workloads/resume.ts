import { z } from 'zod';
import { defineAgent } from '../../agents/define-agent.js';
import type { Model, ModelRequest } from '../../agents/model.js';
import { scriptedModel } from '../../agents/scripted-model.js';
import { Supervisor } from '../../agents/supervisor.js';
import { tool } from '../../agents/tool.js';
import { RedisStore } from '../../persistence/redis-store.js';
import { silent } from '../contenders/reins.js';
import type { BenchRedis } from '../lib/redis.js';
import { median } from '../lib/stats.js';
import { collect } from '../lib/system.js';
import { benchScript, GOAL } from '../workload.js';

/** Workload 5: rehydrating paused runs from Redis. */
export interface ResumeResult {
  readonly runs: number;
  readonly concurrency: number;
  readonly repeats: number;
  /** Wall time until every `supervisor.resume(runId)` resolved (median over repeats), ms. */
  readonly resumeMs: number;
  readonly perRunUs: number;
  /** Wall time until every resumed run had made its next model call, ms. */
  readonly backAtWorkMs: number;
  /** Untimed: how long creating and pausing the runs took (median). */
  readonly setupMs: number;
  readonly completed: boolean;
  readonly perRepeat: Array<{ resumeMs: number; backAtWorkMs: number }>;
}

/** A promise with its resolver, opened once per phase. */
function gate() {
  let open!: () => void;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}

/** Runs `fn` over `items` with at most `limit` in flight. */
async function pool<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

/**
 * The bench agent (one echo turn, then an answer) with two gates: the echo
 * tool waits on `tool` (so every run can be paused mid-call), and the second
 * model call waits on `model` (so resumed runs stop there and the timing sees
 * rehydration, not the rest of the run).
 */
interface Gates {
  readonly tool: ReturnType<typeof gate>;
  readonly model: ReturnType<typeof gate>;
  /** Opened by the model call that brings `atModel` to `expect`. */
  readonly allAtModel: ReturnType<typeof gate>;
  expect: number;
  inTool: number;
  atModel: number;
}

function gatedAgent(state: Gates) {
  const scripted = scriptedModel(benchScript(1));
  const calls = new Map<string, number>();
  const model: Model = {
    id: 'scripted',
    async generate(request: ModelRequest) {
      const n = (calls.get(request.runId) ?? 0) + 1;
      calls.set(request.runId, n);
      if (n === 2) {
        if (++state.atModel === state.expect) state.allAtModel.open();
        await state.model.promise;
      }
      return scripted.generate(request);
    },
  };
  const echo = tool({
    name: 'echo',
    description: 'Returns its input',
    input: z.object({ i: z.number() }),
    sideEffect: 'none',
    // Setting up thousands of paused runs takes longer than the default 30 s tool timeout.
    timeoutMs: 3_600_000,
    run: async (input) => {
      state.inTool++;
      await state.tool.promise;
      return input;
    },
  });
  return { agent: defineAgent({ id: 'bench-resume', goal: GOAL, model, tools: [echo], progress: false, logger: silent }), calls };
}

async function until(check: () => boolean, what: string, intervalMs: number, timeoutMs = 600_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`resume workload: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

async function once(redis: BenchRedis, runs: number, concurrency: number) {
  await redis.flush();
  const state: Gates = { tool: gate(), model: gate(), allAtModel: gate(), expect: runs, inTool: 0, atModel: 0 };
  const setup0 = performance.now();
  // Phase 1, untimed: runs started by one worker, each paused while its tool call is in flight, then that worker shuts down.
  const storeA = await RedisStore.connect(redis.server.url, { prefix: 'resume' });
  const a = gatedAgent(state);
  const creatorLeaseMs = 10_000;
  const creator = await Supervisor.open({ store: storeA, agents: [a.agent], logger: silent, workerId: 'bench-creator', leaseMs: creatorLeaseMs });
  const ids: string[] = [];
  await pool(Array.from({ length: runs }, (_, i) => i), 200, async () => ids.push((await creator.start(a.agent.id)).runId));
  await until(() => state.inTool >= runs, 'every run to be in its tool call', 20);
  await pool(ids, 200, (id) => creator.pause(id, 'bench', 'resume workload'));
  state.tool.open();
  await until(() => creator.hosted().every((r) => r.status().status === 'paused'), 'every run to pause', 100);
  await creator.close({ timeoutMs: 600_000 });
  await storeA.close();
  // A lease renewal already in flight when close() ran can re-extend a released lease (seen with 10,000 runs): wait the leases out, untimed.
  await new Promise((r) => setTimeout(r, creatorLeaseMs + 500));
  const paused = await (async () => {
    const probe = await RedisStore.connect(redis.server.url, { prefix: 'resume' });
    try {
      return (await probe.list({ status: 'paused' })).length;
    } finally {
      await probe.close();
    }
  })();
  if (paused !== runs) throw new Error(`resume workload: ${paused} of ${runs} runs are paused in the store`);
  const setupMs = performance.now() - setup0;

  // Phase 2, timed: a new worker rehydrates every run (load, lease, reload, pending commands, restore the actor, re-arm timers, RESUME).
  const storeB = await RedisStore.connect(redis.server.url, { prefix: 'resume' });
  const b = gatedAgent(state);
  for (const id of ids) b.calls.set(id, 1);
  const worker = await Supervisor.open({ store: storeB, agents: [b.agent], logger: silent, workerId: 'bench-resumer' });
  state.atModel = 0;
  collect();
  const t0 = performance.now();
  let resumedAll = 0;
  const atWork = state.allAtModel.promise.then(() => performance.now() - t0);
  await pool(ids, concurrency, async (id) => {
    const run = await worker.resume(id, 'bench');
    if (!run) throw new Error(`resume workload: run ${id} is owned by another worker`);
  });
  resumedAll = performance.now() - t0;
  const backAtWorkMs = await atWork;

  // Untimed: let them finish, check they all completed.
  state.model.open();
  const outcomes = await Promise.all(worker.hosted().map((r) => r.outcome));
  await worker.close({ timeoutMs: 600_000 });
  await storeB.close();
  await redis.flush();
  return { resumeMs: resumedAll, backAtWorkMs, setupMs, completed: outcomes.length === runs && outcomes.every((o) => o.reason === 'COMPLETED') };
}

/** `runs` paused runs rehydrated by a fresh Supervisor, `concurrency` resumes in flight: a warm-up round of `warmupRuns`, then `repeats` rounds. */
export async function resumeRuns(redis: BenchRedis, runs: number, concurrency: number, repeats: number, progress: (line: string) => void, warmupRuns: number): Promise<ResumeResult> {
  const warm = await once(redis, warmupRuns, concurrency);
  progress(`resume warm-up: ${warmupRuns} runs in ${warm.resumeMs.toFixed(0)} ms`);
  const results = [];
  for (let i = 0; i < repeats; i++) {
    const r = await once(redis, runs, concurrency);
    progress(`resume ${i + 1}/${repeats}: ${runs} paused runs resumed in ${r.resumeMs.toFixed(0)} ms, all back at work in ${r.backAtWorkMs.toFixed(0)} ms (setup ${(r.setupMs / 1000).toFixed(1)} s, untimed)`);
    results.push(r);
  }
  const resumeMs = median(results.map((r) => r.resumeMs));
  return {
    runs,
    concurrency,
    repeats,
    resumeMs,
    perRunUs: (resumeMs * 1000) / runs,
    backAtWorkMs: median(results.map((r) => r.backAtWorkMs)),
    setupMs: median(results.map((r) => r.setupMs)),
    completed: results.every((r) => r.completed),
    perRepeat: results.map(({ resumeMs, backAtWorkMs }) => ({ resumeMs, backAtWorkMs })),
  };
}
