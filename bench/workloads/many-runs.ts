import { Supervisor } from '../../agents/supervisor.js';
import { RedisStore } from '../../persistence/redis-store.js';
import { benchAgent, silent } from '../contenders/reins.js';
import type { BenchRedis } from '../lib/redis.js';
import { median, percentile } from '../lib/stats.js';
import { collect } from '../lib/system.js';
import { TurnClock, type ClockBoard } from '../workload.js';

/** Workload 3: many concurrent durable runs from one process. */
export interface ManyRunsResult {
  readonly runs: number;
  readonly turnsPerRun: number;
  readonly repeats: number;
  /** Median over repeats of all turns / wall time from the first start to the last outcome. */
  readonly turnsPerSecond: number;
  readonly totalMs: number;
  /** Turn latency (model call to the run's next model call), all runs' turns pooled; medians over repeats. */
  readonly p50Us: number;
  readonly p99Us: number;
  /** Highest RSS seen (sampled every 20 ms), max over repeats. */
  readonly peakRssMiB: number;
  /** Heap in use (after a full GC) midway through, less the heap before, per run then active; median over repeats. */
  readonly heapPerRunKiB: number;
  readonly completed: boolean;
  readonly perRepeat: Array<{ turnsPerSecond: number; p50Us: number; p99Us: number; peakRssMiB: number; heapPerRunKiB: number }>;
}

/** One clock per run, made on its first model call. */
class RunClocks implements ClockBoard {
  readonly clocks = new Map<string, TurnClock>();
  calls = 0;
  constructor(
    readonly turns: number,
    readonly onCall: (calls: number) => void,
  ) {}
  clockFor(runId: string): TurnClock {
    let c = this.clocks.get(runId);
    if (!c) this.clocks.set(runId, (c = new TurnClock(this.turns)));
    this.onCall(++this.calls);
    return c;
  }
}

async function once(redis: BenchRedis, runs: number, turns: number) {
  await redis.flush();
  const store = await RedisStore.connect(redis.server.url, { prefix: 'many' });
  let heapAt: { heap: number; active: number } | null = null;
  let finished = 0;
  const totalCalls = runs * (turns + 1);
  const board = new RunClocks(turns, (calls) => {
    if (heapAt === null && calls >= totalCalls / 2) {
      collect();
      heapAt = { heap: process.memoryUsage().heapUsed, active: runs - finished };
    }
  });
  const agent = benchAgent(() => turns, board);
  const supervisor = await Supervisor.open({ store, agents: [agent], logger: silent });
  collect();
  const heapBefore = process.memoryUsage().heapUsed;
  let peakRss = process.memoryUsage.rss();
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage.rss())), 20);
  const t0 = performance.now();
  const started = await Promise.all(Array.from({ length: runs }, () => supervisor.start(agent.id)));
  const outcomes = await Promise.all(started.map((r) => r.outcome.then((o) => (finished++, o))));
  const ms = performance.now() - t0;
  clearInterval(sampler);
  peakRss = Math.max(peakRss, process.memoryUsage.rss());
  await supervisor.close();
  await store.close();
  const latencies: number[] = [];
  for (const clock of board.clocks.values()) for (let k = 1; k < clock.count; k++) latencies.push(clock.turnMs(k) * 1000);
  const at = heapAt as { heap: number; active: number } | null;
  return {
    turnsPerSecond: (runs * turns) / (ms / 1000),
    ms,
    p50Us: percentile(latencies, 50),
    p99Us: percentile(latencies, 99),
    peakRssMiB: peakRss / 2 ** 20,
    heapPerRunKiB: at && at.active > 0 ? (at.heap - heapBefore) / at.active / 1024 : Number.NaN,
    completed: outcomes.every((o) => o.reason === 'COMPLETED'),
  };
}

/** `runs` concurrent runs of `turns` turns on RedisStore, one Supervisor: a warm-up round of `warmupRuns`, then `repeats` measured rounds. */
export async function manyRuns(redis: BenchRedis, runs: number, turns: number, repeats: number, progress: (line: string) => void, warmupRuns: number): Promise<ManyRunsResult> {
  const warm = await once(redis, warmupRuns, turns);
  progress(`many runs warm-up: ${warmupRuns} runs, ${warm.turnsPerSecond.toFixed(0)} turns/s`);
  const results = [];
  for (let i = 0; i < repeats; i++) {
    collect();
    const r = await once(redis, runs, turns);
    progress(`many runs ${i + 1}/${repeats}: ${runs}×${turns} turns in ${r.ms.toFixed(0)} ms, ${r.turnsPerSecond.toFixed(0)} turns/s, p99 ${(r.p99Us / 1000).toFixed(1)} ms`);
    results.push(r);
  }
  await redis.flush();
  return {
    runs,
    turnsPerRun: turns,
    repeats,
    turnsPerSecond: median(results.map((r) => r.turnsPerSecond)),
    totalMs: median(results.map((r) => r.ms)),
    p50Us: median(results.map((r) => r.p50Us)),
    p99Us: median(results.map((r) => r.p99Us)),
    peakRssMiB: Math.max(...results.map((r) => r.peakRssMiB)),
    heapPerRunKiB: median(results.map((r) => r.heapPerRunKiB)),
    completed: results.every((r) => r.completed),
    perRepeat: results.map(({ turnsPerSecond, p50Us, p99Us, peakRssMiB, heapPerRunKiB }) => ({ turnsPerSecond, p50Us, p99Us, peakRssMiB, heapPerRunKiB })),
  };
}
