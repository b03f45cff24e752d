/**
 * reins benchmarks: what supervision and durability cost, against a plain
 * loop, a raw XState actor, a bare Redis round trip and LangGraph JS, all
 * measured in this one process run.
 *
 *   npm run bench                  full run (about 25 minutes on a 2-core machine, 12 of them in the capped LangGraph rows at N = 10,000)
 *   npm run bench -- --quick       under a minute: checks that everything runs; its numbers are not for quoting
 *   npm run bench -- --json [path] also write the results as JSON (default bench/results/latest.json)
 *   npm run bench -- --cap-seconds 240   wall-clock cap of one LangGraph checkpointed run at N = 10,000 (stopped there, reported as a lower bound)
 *   npm run bench -- --only single,floor,many,resume,guards,fleet
 *   npm run bench -- --report bench/results/latest.json   print the report of an earlier --json run
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Contender } from './contenders/contender.js';
import { floorContender } from './contenders/floor.js';
import { rawXStateContender } from './contenders/raw-xstate.js';
import { reinsContender, type StoreKit } from './contenders/reins.js';
import { installPeers, peersInstalled } from './lib/peers.js';
import { startBenchRedis } from './lib/redis.js';
import { fileKit, memoryKit, redisKit } from './lib/stores.js';
import { machineInfo } from './lib/system.js';
import { report, type Results } from './report.js';
import { CurrentClock } from './workload.js';
import { turnAnatomy } from './workloads/anatomy.js';
import { durabilityFloor } from './workloads/durability-floor.js';
import { fleetRuns } from './workloads/fleet.js';
import { guardCosts } from './workloads/guards.js';
import { manyRuns } from './workloads/many-runs.js';
import { resumeRuns } from './workloads/resume.js';
import { singleRuns, type SingleRunRow } from './workloads/single-run.js';

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
/** Reins rows run to the end; this only stops a pathological run (it would be reported as capped). */
const SAFETY_CAP_MS = 30 * 60_000;
const WORKLOADS = ['single', 'floor', 'many', 'resume', 'guards', 'fleet'] as const;
type Workload = (typeof WORKLOADS)[number];

interface Options {
  /** Print the report of an earlier --json file instead of measuring. */
  reportOnly: string | null;
  quick: boolean;
  json: string | null;
  capSeconds: number;
  only: Set<Workload>;
}

function parseArgs(argv: readonly string[]): Options {
  const o: Options = { reportOnly: null, quick: false, json: null, capSeconds: 240, only: new Set(WORKLOADS) };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--quick') o.quick = true;
    else if (a === '--json') o.json = argv[i + 1] && !argv[i + 1]!.startsWith('--') ? argv[++i]! : resolve(BENCH_DIR, 'results/latest.json');
    else if (a.startsWith('--json=')) o.json = a.slice('--json='.length);
    else if (a === '--cap-seconds') o.capSeconds = Number(argv[++i]);
    else if (a === '--report') o.reportOnly = argv[++i] ?? '';
    else if (a === '--only') {
      const names = (argv[++i] ?? '').split(',').filter(Boolean);
      const bad = names.filter((n) => !(WORKLOADS as readonly string[]).includes(n));
      if (bad.length) throw new Error(`unknown workload ${bad.join(', ')}; known: ${WORKLOADS.join(', ')}`);
      o.only = new Set(names as Workload[]);
    } else if (a === '--help' || a === '-h') {
      console.log('usage: npm run bench -- [--quick] [--json [path]] [--cap-seconds N] [--only single,floor,many,resume,guards,fleet] | --report results.json');
      process.exit(0);
    } else throw new Error(`unknown option ${a} (try --help)`);
  }
  if (!Number.isFinite(o.capSeconds) || o.capSeconds <= 0) throw new Error('--cap-seconds needs a positive number');
  return o;
}

/** The sizes and repeat counts of each mode. */
function planFor(o: Options) {
  return o.quick
    ? {
        sizes: [100, 1_000],
        warmupTurns: 20,
        baseRepeats: (_n: number) => 1,
        rowBudgetMs: 0,
        /** Quick mode caps every run at 2 s: slow rows report a lower bound, so the whole thing stays under a minute. */
        capMs: (_n: number, _c: Contender) => 2_000,
        manyRuns: 25,
        manyRepeats: 1,
        resumeRuns: 100,
        resumeRepeats: 1,
        guardTurns: 1_000,
        guardRepeats: 3,
        guardRunTurns: 50,
        guardRunRepeats: 1,
        floorSamples: 500,
        fleet: { runs: 40, turns: 20, processes: [1, 2, 4], rounds: 1, clusterProcesses: [2], clusterRounds: 1, concurrency: 16, sliceTurns: 50, latencyRuns: 5, capacityRuns: 50 },
      }
    : {
        sizes: [100, 1_000, 10_000],
        warmupTurns: 200,
        baseRepeats: (n: number) => (n <= 1_000 ? 3 : 2),
        /** Fewer repeats for a row whose runs are slow: about this much time per row and size, never under 2 repeats below N = 10,000. */
        rowBudgetMs: 100_000,
        /** At N = 10,000 LangGraph's checkpointed rows are capped (their quadratic cost runs to many minutes); other rows run to the end. */
        capMs: (n: number, c: Contender) => (n < 10_000 ? undefined : c.kind === 'langgraph' && c.id !== 'lg-none' ? o.capSeconds * 1_000 : SAFETY_CAP_MS),
        manyRuns: 1_000,
        manyRepeats: 2,
        resumeRuns: 10_000,
        resumeRepeats: 2,
        guardTurns: 50_000,
        guardRepeats: 5,
        guardRunTurns: 1_000,
        guardRunRepeats: 3,
        floorSamples: 3_000,
        fleet: { runs: 200, turns: 20, processes: [1, 2, 4], rounds: 3, clusterProcesses: [1, 2, 4], clusterRounds: 1, concurrency: 16, sliceTurns: 50, latencyRuns: 20, capacityRuns: 300 },
      };
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  if (o.reportOnly !== null) {
    process.stdout.write(`${report(JSON.parse(readFileSync(o.reportOnly, 'utf8')) as Results)}\n`);
    return;
  }
  const plan = planFor(o);
  const started = performance.now();
  const log = (line: string) => process.stderr.write(`  · ${line}\n`);
  const skipped: Record<string, string> = {};
  log(`${o.quick ? 'quick' : 'full'} run; progress on stderr, the table on stdout`);

  const redis = await startBenchRedis();
  const board = new CurrentClock();
  const contenders: Contender[] = [];
  const results: Results = {
    mode: o.quick ? 'quick' : 'full',
    machine: machineInfo(),
    redis: { version: redis.version, persistence: 'appendonly yes, appendfsync everysec' },
    postgres: null,
    skipped,
    single: [],
    floor: null,
    many: null,
    resume: null,
    guards: null,
    guardRuns: [],
    fleet: null,
    anatomy: [],
    load: {},
    durationSeconds: 0,
  };
  /** The 1-minute load average around each section: a section measured on a busier machine than another says so. */
  const section = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
    const before = loadavg()[0]!;
    try {
      return await work();
    } finally {
      (results.load ??= {})[name] = { before, after: loadavg()[0]! };
      log(`${name}: load average ${before.toFixed(1)} before, ${loadavg()[0]!.toFixed(1)} after`);
    }
  };

  // Written after every workload, so that a run that dies late keeps what it measured.
  const save = (final: boolean) => {
    if (!o.json) return;
    mkdirSync(dirname(o.json), { recursive: true });
    writeFileSync(o.json, `${JSON.stringify(final ? { ...results, table: report(results) } : { ...results, partial: true }, null, 2)}\n`);
  };
  try {
    if (o.only.has('single') || o.only.has('floor')) {
      contenders.push(floorContender(board), rawXStateContender(board));
      contenders.push(await reinsContender(memoryKit(), board));
      const file = await fileKit();
      if ('missing' in file) skipped['reins-file'] = file.missing;
      else contenders.push(await reinsContender(file, board));
      contenders.push(await reinsContender(redisKit(redis), board));

      // LangGraph lives in bench/peers, installed on first use (never by --quick).
      let peers: string | null = null;
      if (!peersInstalled()) peers = o.quick ? 'bench/peers is not installed and --quick never installs it (run `npm run bench` once)' : installPeers(log);
      if (peers === null && !peersInstalled()) peers = 'bench/peers did not install';
      if (peers !== null) {
        for (const id of ['lg-none', 'lg-memory', 'lg-sqlite', 'lg-postgres']) skipped[id] = peers;
      } else {
        const lg = await import('./peers/langgraph.js');
        const { findPostgres } = await import('./peers/postgres.js');
        results.machine.langgraph = lg.langGraphVersion();
        contenders.push(lg.noSaver(board), lg.memorySaver(board), await lg.sqliteSaver(board));
        const pg = await findPostgres();
        if ('skip' in pg) skipped['lg-postgres'] = pg.skip;
        else {
          results.postgres = { version: pg.version, startedByBench: pg.started };
          if (pg.started) log('started the machine\'s PostgreSQL for the LangGraph Postgres saver');
          contenders.push(await lg.postgresSaver(board, pg.url));
        }
      }
    }

    if (o.only.has('single')) {
      const measured: SingleRunRow[] = [];
      // Counted, not timed: what one turn does (microsteps, commits, bytes), on each store.
      results.anatomy = await section('anatomy', async () => {
        const kits = [memoryKit(), await fileKit(), redisKit(redis, 'anatomy')].filter((k): k is StoreKit => !('missing' in k));
        const out = [];
        for (const kit of kits) out.push(await turnAnatomy(kit));
        return out;
      });
      for (const a of results.anatomy) log(`anatomy ${a.store}: ${a.microsteps} microsteps, ${a.commits} commits, ${Math.round(a.bytes)} B per turn`);
      results.single = await section('single', () => singleRuns(contenders, {
        sizes: plan.sizes,
        warmupTurns: plan.warmupTurns,
        growthTurns: [10, 100, 1_000, 10_000],
        capMs: (n, c) => plan.capMs(n, c),
        repeats: (n, c) => {
          const base = plan.baseRepeats(n);
          if (plan.rowBudgetMs <= 0) return base;
          // Estimate this run's length from the largest N already measured for the row.
          const prev = [...measured, ...results.single].filter((r) => r.id === c.id).sort((a, b) => b.turns - a.turns)[0];
          if (!prev) return base;
          const estMs = Math.min(((prev.usPerTurn * n) / 1000) * Math.max(1, n / prev.turns) ** 0.5, plan.capMs(n, c) ?? Number.POSITIVE_INFINITY);
          const fit = Math.floor(plan.rowBudgetMs / Math.max(1, estMs));
          return Math.max(n >= 10_000 ? 1 : 2, Math.min(base, fit));
        },
        progress: log,
        onSize: (rows) => {
          measured.push(...rows);
          results.single = [...measured];
          save(false);
        },
      }));
      save(false);
    }

    if (o.only.has('floor')) {
      const redisRow = results.single.filter((r) => r.id === 'reins-redis').sort((a, b) => b.turns - a.turns)[0];
      const wire = redisRow?.growth.filter((g) => g.physicalBytes !== null).at(-1)?.physicalBytes ?? 16_000;
      const record = redisRow?.recordBytes ?? 5_000;
      results.floor = { ...(await section('floor', () => durabilityFloor(redis.server.url, wire, record, plan.floorSamples))), fromMeasuredTurn: redisRow !== undefined };
      log(`durability floor: ${results.floor.roundTripUs.toFixed(0)} µs per round trip of ${wire} B`);
      save(false);
    }

    for (const c of contenders) await c.close();
    contenders.length = 0;

    if (o.only.has('many')) {
      results.many = await section('many', () => manyRuns(redis, plan.manyRuns, 20, plan.manyRepeats, log, o.quick ? 5 : 100));
      save(false);
    }
    if (o.only.has('resume')) {
      results.resume = await section('resume', () => resumeRuns(redis, plan.resumeRuns, 100, plan.resumeRepeats, log, o.quick ? 20 : 500));
      save(false);
    }

    if (o.only.has('guards')) {
      results.guards = await section('guards', async () => guardCosts([8, 64, 512], plan.guardTurns, plan.guardRepeats));
      const windowed: Contender[] = [];
      for (const w of [8, 64, 512]) windowed.push(await reinsContender(memoryKit(), board, { loopWindow: w, id: `reins-memory-w${w}`, label: `reins + MemoryStore, loop window ${w}` }));
      try {
        results.guardRuns = await singleRuns(windowed, {
          sizes: [plan.guardRunTurns],
          warmupTurns: plan.warmupTurns,
          growthTurns: [],
          capMs: () => (o.quick ? 2_000 : undefined),
          repeats: () => plan.guardRunRepeats,
          progress: log,
        });
      } finally {
        for (const c of windowed) await c.close();
      }
    }

    if (o.only.has('fleet')) {
      results.fleet = await section('fleet', () => fleetRuns(redis.server.url, plan.fleet, log));
      save(false);
    }
  } finally {
    for (const c of contenders) await c.close().catch(() => undefined);
    await redis.stop();
  }

  results.durationSeconds = (performance.now() - started) / 1000;
  results.machine.loadAtEnd = loadavg()[0]!.toFixed(1);
  const text = report(results);
  process.stdout.write(`${text}\n`);
  if (o.json) {
    save(true);
    log(`wrote ${o.json}`);
  }
  log(`done in ${results.durationSeconds.toFixed(0)} s`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
