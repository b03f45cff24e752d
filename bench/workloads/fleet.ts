import { SliceQueue } from '../../agents/fleet/slice-queue.js';
import { Supervisor } from '../../agents/supervisor.js';
import { silent } from '../contenders/reins.js';
import { FLEET_BENCH_AGENT, FLEET_REST_AGENT, fleetBenchAgents } from '../fleet/agents.js';
import { openOn } from '../fleet/connect.js';
import { delta, RedisAdmins, type RedisCounters } from '../fleet/counters.js';
import { FleetPool } from '../fleet/pool.js';
import { epochMs, type FleetTarget } from '../fleet/protocol.js';
import { median, percentile } from '../lib/stats.js';

/** How the fleet section runs. */
export interface FleetPlan {
  /** Runs submitted at once per round and row, each of `turns` turns. */
  readonly runs: number;
  readonly turns: number;
  /** Worker process counts, one row each. */
  readonly processes: readonly number[];
  readonly rounds: number;
  /** Worker process counts on the Redis Cluster, and its rounds (0: no cluster rows). */
  readonly clusterProcesses: readonly number[];
  readonly clusterRounds: number;
  /** Slices in hand per worker process (`reins worker --concurrency`). */
  readonly concurrency: number;
  readonly sliceTurns: number;
  /** Runs submitted one at a time (each after the last one's first turn) for the latency figures. */
  readonly latencyRuns: number;
  /** Runs the capacity figures are measured over. */
  readonly capacityRuns: number;
}

/** One row: k worker processes on one target, its figures medians over rounds. */
export interface FleetRow {
  readonly target: 'redis' | 'cluster';
  readonly processes: number;
  /** Durable turns per second of each round (all turns ÷ first submit to last run ended). */
  readonly rounds: number[];
  readonly turnsPerSecond: number;
  /** Submit call to the run's first model call, ms, pooled over rounds. */
  readonly firstTurnP50Ms: number;
  readonly firstTurnP99Ms: number;
  /** Slice jobs run per turn (submit, continue, held-elsewhere re-runs). */
  readonly jobsPerTurn: number;
  /** CPU time of the worker processes per turn, ms (user + system, summed over processes): less stretched by a busy machine than wall time. */
  readonly workerCpuMsPerTurn: number;
  /** Redis commands per turn (INFO commandstats, commands inside scripts included), server µs per turn, bytes read by Redis per turn. */
  readonly commandsPerTurn: number;
  readonly redisUsPerTurn: number;
  readonly bytesPerTurn: number;
  /** Redis memory a finished run keeps (its record, journal, trace), per run. */
  readonly finishedRunBytes: number;
  /** The commands making up most of a turn, per turn. */
  readonly topCommands: Array<[string, number]>;
}

/** Redis memory, commands and bytes per run at rest (measured on the single Redis). */
export interface FleetCapacity {
  readonly runs: number;
  readonly turns: number;
  /** A run submitted, its first slice queued, no worker yet. */
  readonly queuedRunBytes: number;
  readonly submitCommands: number;
  readonly submitBytes: number;
  /** A run resting (awaiting an approval after `turns` turns, its deadline a delayed job), no worker holding it. */
  readonly restingRunBytes: number;
}

export interface FleetResult {
  readonly plan: FleetPlan;
  readonly rows: FleetRow[];
  /** Round by round: 2 processes' turns/s ÷ 1 process' (same round, same Redis). */
  readonly twoVsOne: number[];
  readonly fourVsOne: number[];
  readonly clusterTwoVsOne: number[];
  readonly capacity: FleetCapacity | null;
  /** Rows that did not run, and why (one line each). */
  readonly skipped: Record<string, string>;
}

/** The API server's side: submits runs on a prefix. */
async function submitter(target: FleetTarget, prefix: string, turns: number) {
  const { store, connection, close } = await openOn(target, prefix);
  const queue = new SliceQueue(connection);
  const supervisor = await Supervisor.open({ store, agents: fleetBenchAgents(turns, () => undefined), queue, logger: silent });
  return {
    submit: (runId: string, agent = FLEET_BENCH_AGENT) => supervisor.submit(agent, { runId }),
    async close() {
      await supervisor.close();
      await queue.close();
      await close();
    },
  };
}

interface RoundFigures {
  turnsPerSecond: number;
  latencies: number[];
  slices: number;
  cpuMs: number;
  counters: RedisCounters;
}

/** One round of one row: k processes work a fresh prefix; `runs` submitted at once, then `latencyRuns` one by one. */
async function round(pool: FleetPool, admins: RedisAdmins, target: FleetTarget, k: number, plan: FleetPlan, prefix: string, timeoutMs: number): Promise<RoundFigures> {
  await admins.flush();
  await pool.start(k, target, prefix, { concurrency: plan.concurrency, sliceTurns: plan.sliceTurns, turns: plan.turns });
  const api = await submitter(target, prefix, plan.turns);
  try {
    const before = await admins.read();
    const t0 = performance.now();
    await Promise.all(Array.from({ length: plan.runs }, (_, i) => api.submit(`t${i}`)));
    await pool.until(() => pool.ended >= plan.runs, timeoutMs, `${plan.runs} runs to end`);
    const ms = performance.now() - t0;
    const counters = delta(before, await admins.read());
    const latencies: number[] = [];
    for (let i = 0; i < plan.latencyRuns; i++) {
      const id = `l${i}`;
      const at = epochMs();
      await api.submit(id);
      await pool.until(() => pool.firstTurn.has(id), timeoutMs, `the first turn of ${id}`);
      latencies.push(pool.firstTurn.get(id)! - at);
    }
    await pool.until(() => pool.ended >= plan.runs + plan.latencyRuns, timeoutMs, 'the latency runs to end');
    const { slices, cpuMs } = await pool.stop(k);
    return { turnsPerSecond: (plan.runs * plan.turns) / (ms / 1000), latencies, slices, cpuMs, counters };
  } finally {
    await api.close();
  }
}

function rowOf(target: 'redis' | 'cluster', k: number, figures: RoundFigures[], plan: FleetPlan): FleetRow {
  const turns = plan.runs * plan.turns;
  const latencies = figures.flatMap((f) => f.latencies);
  const per = (f: (x: RoundFigures) => number) => median(figures.map(f));
  const commands: Record<string, number> = {};
  for (const f of figures) for (const [c, n] of Object.entries(f.counters.byCommand)) commands[c] = (commands[c] ?? 0) + n / turns / figures.length;
  return {
    target,
    processes: k,
    rounds: figures.map((f) => f.turnsPerSecond),
    turnsPerSecond: per((f) => f.turnsPerSecond),
    firstTurnP50Ms: percentile(latencies, 50),
    firstTurnP99Ms: percentile(latencies, 99),
    jobsPerTurn: per((f) => f.slices / ((plan.runs + plan.latencyRuns) * plan.turns)),
    workerCpuMsPerTurn: per((f) => f.cpuMs / ((plan.runs + plan.latencyRuns) * plan.turns)),
    commandsPerTurn: per((f) => f.counters.calls / turns),
    redisUsPerTurn: per((f) => f.counters.usec / turns),
    bytesPerTurn: per((f) => f.counters.netInputBytes / turns),
    finishedRunBytes: per((f) => f.counters.usedMemory / plan.runs),
    topCommands: Object.entries(commands).sort((a, b) => b[1] - a[1]).slice(0, 6),
  };
}

/** The rows of one target: rounds interleaved, the order of process counts rotated each round. */
async function rowsOn(pool: FleetPool, admins: RedisAdmins, target: FleetTarget, processes: readonly number[], rounds: number, plan: FleetPlan, progress: (line: string) => void): Promise<FleetRow[]> {
  const byK = new Map<number, RoundFigures[]>(processes.map((k) => [k, []]));
  for (let r = 0; r < rounds; r++) {
    const order = processes.map((_, i) => processes[(i + r) % processes.length]!);
    for (const k of order) {
      const f = await round(pool, admins, target, k, plan, `fb${target.kind[0]}${r}k${k}`, 120_000);
      byK.get(k)!.push(f);
      progress(`fleet ${target.kind} round ${r + 1}/${rounds}, ${k} process${k === 1 ? '' : 'es'}: ${f.turnsPerSecond.toFixed(0)} turns/s, first turn p50 ${percentile(f.latencies, 50).toFixed(1)} ms`);
    }
  }
  return processes.map((k) => rowOf(target.kind, k, byK.get(k)!, plan));
}

/** Redis memory, commands and bytes of runs that are queued or resting (no worker holds them). */
async function capacity(pool: FleetPool, admins: RedisAdmins, target: FleetTarget, plan: FleetPlan): Promise<FleetCapacity> {
  const n = plan.capacityRuns;
  await admins.flush();
  // Queued: submitted with no worker running.
  let api = await submitter(target, 'fbq', plan.turns);
  const q0 = await admins.read();
  await Promise.all(Array.from({ length: n }, (_, i) => api.submit(`q${i}`)));
  const queued = delta(q0, await admins.read());
  await api.close();
  await admins.flush();
  // Resting: two workers take each run to its approval request, where it rests.
  await pool.start(2, target, 'fbr', { concurrency: plan.concurrency, sliceTurns: plan.sliceTurns, turns: plan.turns });
  api = await submitter(target, 'fbr', plan.turns);
  const r0 = await admins.read();
  await Promise.all(Array.from({ length: n }, (_, i) => api.submit(`r${i}`, FLEET_REST_AGENT)));
  await pool.until(() => pool.rested >= n, 120_000, `${n} runs to rest`);
  await pool.stop(2);
  await api.close();
  const rested = delta(r0, await admins.read());
  await admins.flush();
  return {
    runs: n,
    turns: plan.turns,
    queuedRunBytes: queued.usedMemory / n,
    submitCommands: queued.calls / n,
    submitBytes: queued.netInputBytes / n,
    restingRunBytes: rested.usedMemory / n,
  };
}

const ratios = (rows: FleetRow[], target: 'redis' | 'cluster', k: number): number[] => {
  const one = rows.find((r) => r.target === target && r.processes === 1);
  const other = rows.find((r) => r.target === target && r.processes === k);
  if (!one || !other) return [];
  return one.rounds.map((t, i) => other.rounds[i]! / t);
};

/**
 * The fleet section: durable turns per second with 1, 2 and 4 worker
 * processes (FleetWorker, as `reins worker` runs it) on one Redis, then on a
 * three-master Redis Cluster; submit-to-first-turn latency, jobs, commands
 * and bytes per turn; Redis memory per run at rest.
 */
export async function fleetRuns(redisUrl: string, plan: FleetPlan, progress: (line: string) => void): Promise<FleetResult> {
  const skipped: Record<string, string> = {};
  const pool = new FleetPool(Math.max(...plan.processes, ...plan.clusterProcesses));
  const rows: FleetRow[] = [];
  let cap: FleetCapacity | null = null;
  try {
    await pool.ready();
    const single = new RedisAdmins([redisUrl]);
    try {
      const target: FleetTarget = { kind: 'redis', url: redisUrl };
      // Warm-up: every process hosts a few runs, untimed.
      await round(pool, single, target, Math.max(...plan.processes), { ...plan, runs: Math.min(plan.runs, 40), latencyRuns: 2 }, 'fbw', 120_000);
      rows.push(...(await rowsOn(pool, single, target, plan.processes, plan.rounds, plan, progress)));
      cap = await capacity(pool, single, target, plan);
      progress(`fleet capacity: ${(cap.queuedRunBytes / 1024).toFixed(1)} KiB per queued run, ${(cap.restingRunBytes / 1024).toFixed(1)} KiB per resting run`);
    } finally {
      single.close();
    }
    rows.push(...(await clusterRows(pool, plan, progress, skipped)));
  } finally {
    await pool.close();
  }
  return { plan, rows, twoVsOne: ratios(rows, 'redis', 2), fourVsOne: ratios(rows, 'redis', 4), clusterTwoVsOne: ratios(rows, 'cluster', 2), capacity: cap, skipped };
}

/** The same rows on a local three-master Redis Cluster; a cluster that cannot start, or a fleet that cannot run on it, is a one-line skip. */
async function clusterRows(pool: FleetPool, plan: FleetPlan, progress: (line: string) => void, skipped: Record<string, string>): Promise<FleetRow[]> {
  if (plan.clusterRounds <= 0 || plan.clusterProcesses.length === 0) return [];
  const { startRedisCluster } = await import('../../test/support/redis-cluster.js');
  let cluster: Awaited<ReturnType<typeof startRedisCluster>>;
  try {
    cluster = await startRedisCluster(3);
  } catch (error) {
    skipped.cluster = `the local Redis Cluster did not start: ${firstLine(error)}`;
    return [];
  }
  const admins = new RedisAdmins(cluster.nodes.map((n) => n.url));
  try {
    return await rowsOn(pool, admins, { kind: 'cluster', nodes: cluster.startNodes }, plan.clusterProcesses, plan.clusterRounds, plan, progress);
  } catch (error) {
    skipped.cluster = `the fleet did not run on the Redis Cluster: ${firstLine(error)}`;
    progress(`fleet cluster: skipped, ${skipped.cluster}`);
    return [];
  } finally {
    admins.close();
    await cluster.stop();
  }
}

const firstLine = (error: unknown) => (error instanceof Error ? error.message : String(error)).split('\n')[0]!.slice(0, 200);
