import { bytes, int, num, ratio, table } from './lib/format.js';
import { median } from './lib/stats.js';
import type { TurnAnatomy } from './workloads/anatomy.js';
import type { DurabilityFloor } from './workloads/durability-floor.js';
import type { FleetResult } from './workloads/fleet.js';
import type { GuardCost } from './workloads/guards.js';
import type { ManyRunsResult } from './workloads/many-runs.js';
import type { ResumeResult } from './workloads/resume.js';
import type { SingleRunRow } from './workloads/single-run.js';

/** Everything one bench run measured (this is also the JSON written by --json). */
export interface Results {
  mode: 'quick' | 'full';
  machine: Record<string, string | number | null>;
  redis: { version: string; persistence: string };
  postgres: { version: string; startedByBench: boolean } | null;
  /** Rows that could not run, and why (one line each). */
  skipped: Record<string, string>;
  single: SingleRunRow[];
  floor: (DurabilityFloor & { fromMeasuredTurn: boolean }) | null;
  many: ManyRunsResult | null;
  resume: ResumeResult | null;
  guards: GuardCost[] | null;
  guardRuns: SingleRunRow[];
  /** Section 7, worker processes on BullMQ (absent in files written before it was measured). */
  fleet?: FleetResult | null;
  /** What one turn does on each store, counted (absent in files written before it was measured). */
  anatomy?: TurnAnatomy[];
  /** The 1-minute load average before and after each section. */
  load?: Record<string, { before: number; after: number }>;
  durationSeconds: number;
  targets?: Target[];
  /** What a reader must know about how this file was made (e.g. workloads measured in a second process). */
  notes?: string[];
}

export interface Target {
  readonly target: string;
  /** unsettled: the rounds disagree, some on each side of the target (a noisy machine); neither met nor missed. */
  readonly status: 'met' | 'missed' | 'unsettled' | 'not evaluated';
  readonly detail: string;
}

const ORDER: ReadonlyArray<[string, string]> = [
  ['floor', 'plain TypeScript loop (floor)'],
  ['xstate', 'raw XState actor'],
  ['reins-memory', 'reins + MemoryStore'],
  ['reins-file', 'reins + FileStore'],
  ['reins-redis', 'reins + RedisStore'],
  ['lg-none', 'LangGraph, no checkpointer'],
  ['lg-memory', 'LangGraph + MemorySaver'],
  ['lg-sqlite', 'LangGraph + SqliteSaver'],
  ['lg-postgres', 'LangGraph + PostgresSaver'],
];
const REINS_STORES: ReadonlyArray<[string, string]> = [
  ['reins-memory', 'MemoryStore'],
  ['reins-file', 'FileStore'],
  ['reins-redis', 'RedisStore'],
];

function rowOf(r: Results, id: string, n: number): SingleRunRow | undefined {
  return r.single.find((x) => x.id === id && x.turns === n);
}

/** µs per turn, "≥" when the runs were stopped by the cap (a lower bound). */
function usCell(row: SingleRunRow | undefined): string {
  if (!row) return '–';
  return `${row.completed ? '' : '≥'}${num(row.usPerTurn)}`;
}

function tpsCell(row: SingleRunRow | undefined): string {
  if (!row) return '–';
  return `${row.completed ? '' : '≤'}${int(row.turnsPerSecond)}`;
}

/** How many times faster `fast` is than `slow` (µs ratio); null when either is missing or the fast one is only a lower bound. */
function speedup(fast: SingleRunRow | undefined, slow: SingleRunRow | undefined): number | null {
  if (!fast || !slow) return null;
  return slow.usPerTurn / fast.usPerTurn;
}

/**
 * The ratio of two rows round by round (the rows are interleaved, so run i of
 * each is from the same round): its range says whether the rounds agree.
 */
function roundRatios(fast: SingleRunRow, slow: SingleRunRow): number[] {
  const n = Math.min(fast.runsMs.length, slow.runsMs.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(slow.runsMs[slow.runsMs.length - n + i]! / fast.runsMs[fast.runsMs.length - n + i]!);
  return out;
}

/** met / missed by the median, unless the rounds fall on both sides of `target` (`atLeast`: higher is better). */
function settle(values: readonly number[], median: number, target: number, atLeast: boolean): 'met' | 'missed' | 'unsettled' {
  const ok = (v: number) => (atLeast ? v >= target : v <= target);
  if (values.length >= 2 && values.some(ok) && !values.every(ok)) return 'unsettled';
  return ok(median) ? 'met' : 'missed';
}

function sizes(r: Results): number[] {
  return [...new Set(r.single.map((x) => x.turns))].sort((a, b) => a - b);
}

/** Each target: met or missed with its numbers, or why it could not be evaluated. */
export function evaluateTargets(r: Results): Target[] {
  const out: Target[] = [];
  const ns = sizes(r);
  const quickNote = r.mode === 'quick' ? ' [quick mode: not a measurement]' : '';
  const push = (target: string, ok: boolean | null | 'unsettled', detail: string) =>
    out.push({
      target,
      status: ok === null ? 'not evaluated' : ok === 'unsettled' ? 'unsettled' : ok ? 'met' : 'missed',
      detail: detail + (ok === null ? '' : quickNote),
    });
  const worst = (states: ReadonlyArray<'met' | 'missed' | 'unsettled'>): boolean | 'unsettled' =>
    states.includes('missed') ? false : states.includes('unsettled') ? 'unsettled' : true;

  // 0. What a turn does, counted: the same on a busy machine as on a quiet one.
  const anatomy = r.anatomy ?? [];
  if (anatomy.length === 0) push('microsteps per turn ≤ 3 (planning → acting → planning)', null, 'the turn anatomy was not measured');
  else {
    push('microsteps per turn ≤ 3 (planning → acting → planning)', anatomy.every((a) => a.microsteps <= 3), anatomy.map((a) => `${num(a.microsteps)} on ${a.store}`).join(', '));
    push('one commit per turn whose tool has no side effect', anatomy.every((a) => a.commits <= 1), anatomy.map((a) => `${num(a.commits)} on ${a.store}`).join(', '));
    push('bytes handed to the store per turn ≤ 6 KB', anatomy.every((a) => a.bytes <= 6_144), anatomy.map((a) => `${bytes(a.bytes)} on ${a.store}`).join(', '));
  }
  const missing = (id: string) => r.skipped[id] ?? `${id} was not measured`;

  // 1. reins + MemoryStore at least 0.35x raw XState's turns/s, at every N.
  {
    const label = 'reins + MemoryStore ≥ 0.35× raw XState turns/s';
    const have = ns.map((n) => ({ n, mine: rowOf(r, 'reins-memory', n), raw: rowOf(r, 'xstate', n) })).filter((p) => p.mine && p.raw);
    if (have.length === 0) push(label, null, missing(rowOf(r, 'xstate', ns[0] ?? 0) ? 'reins-memory' : 'xstate'));
    else {
      const vals = have.map((p) => ({ n: p.n, x: 1 / speedup(p.raw, p.mine)!, rounds: roundRatios(p.raw!, p.mine!).map((v) => 1 / v) }));
      push(
        label,
        worst(vals.map((v) => settle(v.rounds, v.x, 0.35, true))),
        vals.map((v) => `${ratio(v.x)} at N=${int(v.n)}${v.rounds.length > 1 ? ` (rounds ${ratio(Math.min(...v.rounds))}–${ratio(Math.max(...v.rounds))})` : ''}`).join(', '),
      );
    }
  }

  // 2. reins + RedisStore within raw XState + 4 round trips.
  {
    const label = 'reins + RedisStore turn ≤ raw XState turn + 4 Redis round trips (k ≤ 4)';
    if (!r.floor) push(label, null, 'the durability floor was not measured');
    else {
      const rt = r.floor.roundTripUs;
      const ks = ns
        .map((n) => ({ n, reins: rowOf(r, 'reins-redis', n), raw: rowOf(r, 'xstate', n) }))
        .filter((p) => p.reins && p.raw)
        .map((p) => {
          const m = Math.min(p.reins!.runsMs.length, p.raw!.runsMs.length);
          const rounds = Array.from({ length: m }, (_, i) => ((p.reins!.runsMs.at(-m + i)! - p.raw!.runsMs.at(-m + i)!) * 1000) / p.n / rt);
          return { n: p.n, k: (p.reins!.usPerTurn - p.raw!.usPerTurn) / rt, rounds };
        });
      if (ks.length === 0) push(label, null, missing('reins-redis'));
      else push(label, worst(ks.map((k) => settle(k.rounds, k.k, 4, false))), ks.map((k) => `k = ${num(k.k)} at N=${int(k.n)}`).join(', ') + ` (round trip ${num(rt)} µs)`);
    }
  }

  // 3. Flat cost: µs/turn of the longest run and bytes/turn at its last growth point, within 1.2x of N=100 / turn 100.
  {
    const big = ns.at(-1);
    for (const [id, name] of REINS_STORES) {
      const small = rowOf(r, id, 100);
      const large = big !== undefined && big > 100 ? rowOf(r, id, big) : undefined;
      const label = `flat cost, reins + ${name}: µs (less the floor) and bytes per turn at ${int(big ?? 10_000)} turns ≤ 1.2× 100 turns`;
      if (!small || !large) {
        push(label, null, missing(id));
        continue;
      }
      // The scripted model reads the whole transcript on every call, so the floor itself grows with N: the framework's cost is the row less the floor.
      const floorSmall = rowOf(r, 'floor', 100);
      const floorLarge = big !== undefined ? rowOf(r, 'floor', big) : undefined;
      const net = floorSmall && floorLarge ? (large.usPerTurn - floorLarge.usPerTurn) / (small.usPerTurn - floorSmall.usPerTurn) : null;
      const rawTime = large.usPerTurn / small.usPerTurn;
      const time = net ?? rawTime;
      const at100 = large.growth.find((g) => g.turn === 100);
      const last = large.growth.filter((g) => g.turn > 100).at(-1);
      const b100 = at100?.physicalBytes ?? at100?.logicalBytes ?? null;
      const bLast = last?.physicalBytes ?? last?.logicalBytes ?? null;
      const space = b100 && bLast ? bLast / b100 : null;
      if (!large.completed) {
        push(label, null, `the ${int(big)}-turn runs did not finish (${large.notes.join('; ')})`);
        continue;
      }
      push(
        label,
        space === null ? time <= 1.2 : time <= 1.2 && space <= 1.2,
        (net !== null
          ? `time less the floor ${ratio(net)} (${num(small.usPerTurn - floorSmall!.usPerTurn)} → ${num(large.usPerTurn - floorLarge!.usPerTurn)} µs; with the floor ${ratio(rawTime)}, ${num(small.usPerTurn)} → ${num(large.usPerTurn)} µs)`
          : `time ${ratio(rawTime)} (${num(small.usPerTurn)} → ${num(large.usPerTurn)} µs)`) +
          `, bytes ${ratio(space)} (${bytes(b100)} at turn 100 → ${bytes(bLast)} at turn ${int(last?.turn)})`,
      );
    }
  }

  // 4. Many runs.
  if (!r.many) push('1,000 concurrent runs on RedisStore ≥ 2,500 durable turns/s', null, 'not measured');
  else if (r.many.runs < 1_000) push('1,000 concurrent runs on RedisStore ≥ 2,500 durable turns/s', null, `measured ${int(r.many.runs)} runs only (${int(r.many.turnsPerSecond)} turns/s)`);
  else push('1,000 concurrent runs on RedisStore ≥ 2,500 durable turns/s', r.many.turnsPerSecond >= 2_500, `${int(r.many.turnsPerSecond)} turns/s`);

  // 5. Resume.
  if (!r.resume) push('resume of 10,000 paused runs < 3 s', null, 'not measured');
  else if (r.resume.runs < 10_000) push('resume of 10,000 paused runs < 3 s', null, `measured ${int(r.resume.runs)} runs only (${num(r.resume.resumeMs / 1000)} s)`);
  else push('resume of 10,000 paused runs < 3 s', r.resume.resumeMs < 3_000, `${num(r.resume.resumeMs / 1000)} s (${num(r.resume.perRunUs)} µs per run)`);

  // 6. Against LangGraph at 1,000 turns.
  const at = 1_000;
  const vs = (reinsId: string, lgId: string, factor: number, label: string) => {
    const reins = rowOf(r, reinsId, at);
    const lg = rowOf(r, lgId, at);
    if (!reins || !lg) return push(label, null, !reins ? missing(reinsId) : missing(lgId));
    const x = speedup(reins, lg)!;
    const detail = `${ratio(x)} (${num(reins.usPerTurn)} vs ${num(lg.usPerTurn)} µs per turn)`;
    if (!reins.completed) return push(label, null, `${detail}, but the reins runs did not finish (${reins.notes.join('; ')})`);
    // A capped LangGraph row's cost is a lower bound: enough to show a target met, not to show it missed.
    if (!lg.completed && x < factor) return push(label, null, `${detail}, but the LangGraph runs were stopped by the cap (its cost is only a lower bound)`);
    const rounds = roundRatios(reins, lg);
    const range = rounds.length > 1 ? `, rounds ${ratio(Math.min(...rounds))}–${ratio(Math.max(...rounds))}` : '';
    push(label, settle(lg.completed ? rounds : [], x, factor, true) === 'unsettled' ? 'unsettled' : x >= factor, detail + range + (!lg.completed ? ' (LangGraph stopped by the cap: its cost is a lower bound)' : ''));
  };
  vs('reins-redis', 'lg-sqlite', 10, 'reins + RedisStore ≥ 10× LangGraph + SqliteSaver at 1,000 turns');
  vs('reins-redis', 'lg-postgres', 10, 'reins + RedisStore ≥ 10× LangGraph + PostgresSaver at 1,000 turns');
  vs('reins-file', 'lg-sqlite', 5, 'reins + FileStore ≥ 5× LangGraph + SqliteSaver at 1,000 turns');
  vs('reins-file', 'lg-none', 1, 'reins + FileStore faster than LangGraph with no checkpointer at 1,000 turns');
  vs('reins-redis', 'lg-none', 1, 'reins + RedisStore faster than LangGraph with no checkpointer at 1,000 turns');

  // 7. The fleet: two worker processes against one, round by round.
  {
    const label = 'fleet: 2 worker processes ≥ 1.7× the durable turns/s of 1 (one Redis, same round)';
    const f = r.fleet;
    if (!f) push(label, null, 'not measured');
    else if (f.twoVsOne.length === 0) push(label, null, 'the 1- and 2-process rows did not both run');
    else {
      const x = median(f.twoVsOne);
      const range = f.twoVsOne.length > 1 ? `, rounds ${ratio(Math.min(...f.twoVsOne))}–${ratio(Math.max(...f.twoVsOne))}` : '';
      const tps = (k: number) => int(f.rows.find((row) => row.target === 'redis' && row.processes === k)?.turnsPerSecond);
      push(label, settle(f.twoVsOne, x, 1.7, true) === 'unsettled' ? 'unsettled' : x >= 1.7, `${ratio(x)} (${tps(2)} vs ${tps(1)} turns/s${range})`);
    }
  }
  return out;
}

/** The printed report: machine, the six workloads, the targets. */
export function report(r: Results): string {
  const m = r.machine;
  const ns = sizes(r);
  const lines: string[] = [];
  const say = (s = '') => lines.push(s);
  say(`reins benchmarks, ${r.mode} run, ${String(m.date).slice(0, 16).replace('T', ' ')} UTC`);
  say(`machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os}` + (m.loadAtStart !== undefined ? `; 1-minute load average ${m.loadAtStart} at start, ${m.loadAtEnd ?? '?'} at end` : ''));
  say(
    `software: Node ${m.node}, xstate ${m.xstate}, ioredis ${m.ioredis}, redis-server ${r.redis.version} (${r.redis.persistence}), ` +
      `LangGraph JS ${m.langgraph ?? '–'}, better-sqlite3 ${m.betterSqlite3 ?? '–'}, PostgreSQL ${r.postgres?.version ?? '–'}; reins ${m.reinsCommit}${m.reinsTreeDirty === 'yes' ? ' (+ uncommitted changes)' : ''}`,
  );
  say('Every figure is a median over repeats after a warm-up; rows are interleaved round by round; every ratio compares rows of this run.');
  for (const note of r.notes ?? []) say(`NOTE: ${note}`);
  if (r.mode === 'quick') say('QUICK MODE: reduced sizes, one repeat, runs capped at 2 s. It checks that the bench runs; do not quote these numbers.');

  const loads = Object.entries(r.load ?? {});
  if (loads.length) say(`1-minute load average per section (before → after): ${loads.map(([k, v]) => `${k} ${v.before.toFixed(1)} → ${v.after.toFixed(1)}`).join(', ')}`);

  // 0
  if (r.anatomy?.length) {
    say();
    say('0. What one turn does (counted, not timed: a busy machine does not change it), turns 20..120 of a run');
    say(
      table(
        ['', 'microsteps', 'commits', 'store writes', 'bytes to the store', 'Redis commands'],
        r.anatomy.map((a) => [`reins + ${a.store}`, num(a.microsteps), num(a.commits), num(a.writes), bytes(a.bytes), a.redisCommands === null ? '–' : num(a.redisCommands)]),
      ),
    );
  }

  // 1
  say();
  say('1. One run of N turns (one model call + one echo tool call per turn), µs per turn and turns per second');
  const header = ['', ...ns.flatMap((n) => [`N=${int(n)} µs/turn`, 'turns/s', 'runs'])];
  const rows: string[][] = [];
  for (const [id, label] of ORDER) {
    if (r.skipped[id]) {
      rows.push([label, ...ns.flatMap(() => ['skipped', '', ''])]);
      continue;
    }
    if (!r.single.some((x) => x.id === id)) continue;
    rows.push([label, ...ns.flatMap((n) => [usCell(rowOf(r, id, n)), tpsCell(rowOf(r, id, n)), String(rowOf(r, id, n)?.repeats ?? '–')])]);
  }
  if (rows.length) say(table(header, rows));
  const f100 = rowOf(r, 'floor', ns[0] ?? 0);
  const fBig = rowOf(r, 'floor', ns.at(-1) ?? 0);
  if (f100 && fBig && fBig !== f100) {
    say(`  the floor grows from ${num(f100.usPerTurn)} to ${num(fBig.usPerTurn)} µs per turn: the scripted model reads the whole transcript on every call (as a real request carries it), in every row alike`);
  }
  for (const [id, label] of ORDER) if (r.skipped[id]) say(`  ${label}: skipped, ${r.skipped[id]}`);
  for (const row of r.single) if (row.notes.length) say(`  ${row.label}, N=${int(row.turns)}: ${row.notes.join('; ')} (≥ / ≤: a lower bound on its cost)`);
  const noisy = r.single.filter((x) => x.repeats >= 3 && x.spread > 0.5);
  if (noisy.length) say(`  noisy (repeats spread over 50% of the median): ${noisy.map((x) => `${x.id} N=${int(x.turns)} ${(100 * x.spread).toFixed(0)}%`).join(', ')}`);
  if (r.single.some((x) => x.medianTurnUs !== undefined)) {
    say();
    say('   the typical turn: median duration of one turn within a run, µs (the table above divides total time by N, so it includes GC pauses and time the process was not scheduled)');
    const typical: string[][] = [];
    for (const [id, label] of ORDER) {
      if (!r.single.some((x) => x.id === id)) continue;
      typical.push([label, ...ns.map((n) => num(rowOf(r, id, n)?.medianTurnUs))]);
    }
    say(table(['', ...ns.map((n) => `N=${int(n)}`)], typical));
  }

  if (r.single.length) {
    say();
    say('   how many times faster the reins row is than each other row (µs per turn of the other ÷ reins\'; < 1 means slower)');
    const others = ['floor', 'xstate', 'lg-none', 'lg-memory', 'lg-sqlite', 'lg-postgres'].filter((id) => r.single.some((x) => x.id === id));
    const label = (id: string) => ORDER.find(([i]) => i === id)![1].replace('plain TypeScript loop (floor)', 'floor');
    const ratioRows: string[][] = [];
    for (const n of ns) {
      for (const [id, name] of REINS_STORES) {
        const mine = rowOf(r, id, n);
        if (!mine) continue;
        ratioRows.push([`N=${int(n)} reins + ${name}`, ...others.map((o) => ratio(speedup(mine, rowOf(r, o, n))))]);
      }
    }
    if (ratioRows.length) say(table(['', ...others.map(label)], ratioRows));
  }

  // 2
  say();
  say('2. Durability floor: one sequential Redis round trip carrying what a reins turn writes');
  if (!r.floor) say('  not measured');
  else {
    const f = r.floor;
    say(`  EVALSHA (SET + XADD) of ${bytes(f.payloadBytes)}${f.fromMeasuredTurn ? ' (the wire bytes of one reins + RedisStore turn, measured above)' : ' (a default: the RedisStore row did not run)'}: ${num(f.roundTripUs)} µs median, p99 ${num(f.p99Us)} µs over ${int(f.samples)} sequential calls`);
    say(`  SET of 2 KB: ${num(f.set2kUs)} µs median`);
    for (const n of ns) {
      const reins = rowOf(r, 'reins-redis', n);
      const raw = rowOf(r, 'xstate', n);
      if (!reins || !raw) continue;
      const k = (reins.usPerTurn - raw.usPerTurn) / f.roundTripUs;
      const cmds = reins.growth.filter((g) => g.ops !== null).at(-1);
      say(
        `  N=${int(n)}: reins + RedisStore ${num(reins.usPerTurn)} µs = raw XState ${num(raw.usPerTurn)} µs + k × ${num(f.roundTripUs)} µs with k = ${num(k)}` +
          (cmds ? `; it sends ${num(cmds.ops)} Redis commands (${bytes(cmds.physicalBytes)}) per turn (at turn ${int(cmds.turn)})` : ''),
      );
    }
  }

  // 3
  say();
  if (!r.many) say('3. Many runs: not measured');
  else {
    const x = r.many;
    say(`3. Many runs: ${int(x.runs)} concurrent runs × ${x.turnsPerRun} turns on RedisStore, one Supervisor in one process (${x.repeats} repeat${x.repeats === 1 ? '' : 's'})`);
    say(
      table(
        ['durable turns/s', 'wall time', 'turn latency p50', 'p99', 'peak RSS', 'heap per active run'],
        [[int(x.turnsPerSecond), `${num(x.totalMs / 1000)} s`, `${num(x.p50Us / 1000)} ms`, `${num(x.p99Us / 1000)} ms`, `${int(x.peakRssMiB)} MiB`, `${num(x.heapPerRunKiB)} KiB`]],
      ),
    );
    say('  turn latency: from one model call of a run to its next; heap per run: heap after a full GC halfway through, less the heap before, ÷ runs then active');
    if (!x.completed) say('  WARNING: not every run completed');
  }

  // 4
  say();
  say('4. Growth: one turn deep into a run (from the runs of section 1; the turns around each point, sampled turns excluded)');
  const points = [...new Set(r.single.flatMap((x) => x.growth.map((g) => g.turn)))].sort((a, b) => a - b);
  const longest = (id: string) => r.single.filter((x) => x.id === id).sort((a, b) => b.turns - a.turns)[0];
  if (points.length) {
    const grow: string[][] = [];
    for (const [id, label] of ORDER) {
      const row = longest(id);
      if (!row) continue;
      grow.push([label, ...points.map((p) => num(row.growth.find((g) => g.turn === p)?.usPerTurn)), row.completed ? '' : row.notes.join('; ')]);
    }
    say(table(['µs per turn at turn', ...points.map((p) => int(p)), ''], grow));
    say();
    const byteRows: string[][] = [];
    for (const [id, name] of REINS_STORES) {
      const row = longest(id);
      if (!row) continue;
      const cell = (p: number) => {
        const g = row.growth.find((x) => x.turn === p);
        if (!g) return '–';
        return g.physicalBytes === null ? bytes(g.logicalBytes) : `${bytes(g.logicalBytes)} / ${bytes(g.physicalBytes)}`;
      };
      byteRows.push([`reins + ${name}`, ...points.map(cell), ...ns.map((n) => bytes(rowOf(r, id, n)?.recordBytes))]);
    }
    if (byteRows.length) {
      say(table(['bytes written in turn (logical / physical)', ...points.map((p) => int(p)), ...ns.map((n) => `record @${int(n)}`)], byteRows));
      say('  logical: JSON handed to the store API; physical: bytes written to files (write(2)) or read by Redis off the wire; record: the stored run at the end of a run of N turns');
    }
  }

  // 5
  say();
  if (!r.resume) say('5. Resume: not measured');
  else {
    const x = r.resume;
    say(`5. Resume: ${int(x.runs)} paused runs rehydrated from Redis by a fresh Supervisor, ${x.concurrency} resume() calls in flight (${x.repeats} repeat${x.repeats === 1 ? '' : 's'})`);
    say(`  all resume() calls resolved: ${num(x.resumeMs / 1000)} s (${num(x.perRunUs)} µs per run); every run back at its next model call: ${num(x.backAtWorkMs / 1000)} s`);
    say('  timed: load the record, take the lease, reload it, take queued commands, restore the actor from the snapshot, check its children, re-arm timers, RESUME;');
    say(`  the runs were paused mid-tool-call by another Supervisor that then shut down (setup ${num(x.setupMs / 1000)} s, untimed)`);
    if (!x.completed) say('  WARNING: not every resumed run completed');
  }

  // 6
  say();
  say('6. Guard cost per turn at loop window 8, 64, 512');
  if (!r.guards) say('  not measured');
  else {
    const gRows = r.guards.map((g) => {
      const run = r.guardRuns.find((x) => x.id === `reins-memory-w${g.window}`);
      return [String(g.window), num(g.usPerTurn), num(g.loopUs), num(g.budgetUs), run ? `${usCell(run)}` : '–', run ? bytes(run.recordBytes) : '–'];
    });
    const turns = r.guardRuns[0]?.turns;
    say(table(['window', 'guards µs/turn', 'detectLoop', 'budgetBreach', `reins+Memory µs/turn (N=${int(turns)})`, 'record'], gRows));
    say('  guards: the action record (two hashes, a label), the bounded window, detectLoop and budgetBreach, as the machine runs them; reins+Memory: a whole run with that window');
  }

  // 7
  if (r.fleet !== undefined) {
    say();
    say(fleetSection(r.fleet));
  }

  // Targets
  const targets = evaluateTargets(r);
  r.targets = targets;
  say();
  say('Targets');
  for (const t of targets) say(`  [${t.status === 'met' ? 'MET' : t.status === 'missed' ? 'MISSED' : t.status === 'unsettled' ? 'UNSETTLED' : 'N/A'}] ${t.target}: ${t.detail}`);
  say();
  say(`bench run time: ${num(r.durationSeconds)} s`);
  return lines.join('\n');
}

/** Section 7: worker processes on one Redis and on a Redis Cluster; Redis memory per run at rest. */
function fleetSection(f: FleetResult | null): string {
  if (!f) return '7. Fleet: not measured';
  const p = f.plan;
  const lines = [
    `7. Fleet: ${int(p.runs)} runs × ${p.turns} turns submitted at once to k worker processes (FleetWorker as \`reins worker\` runs it, ${p.concurrency} slices each, ${p.sliceTurns} turns per slice), ${p.rounds} round${p.rounds === 1 ? '' : 's'} on one Redis, ${p.clusterRounds} on a 3-master Redis Cluster; a private redis-server (AOF, fsync every second) on this machine`,
  ];
  if (f.rows.length) {
    lines.push(
      table(
        ['', 'durable turns/s', 'rounds', 'first turn p50', 'p99', 'jobs/turn', 'worker CPU/turn', 'Redis cmds/turn', 'Redis µs/turn', 'bytes in/turn', 'finished run'],
        f.rows.map((x) => [
          `${x.target === 'redis' ? 'one Redis' : 'Redis Cluster'}, ${x.processes} process${x.processes === 1 ? '' : 'es'}`,
          int(x.turnsPerSecond),
          x.rounds.map((t) => int(t)).join(' / '),
          `${num(x.firstTurnP50Ms)} ms`,
          `${num(x.firstTurnP99Ms)} ms`,
          num(x.jobsPerTurn),
          `${num(x.workerCpuMsPerTurn)} ms`,
          num(x.commandsPerTurn),
          num(x.redisUsPerTurn),
          bytes(x.bytesPerTurn),
          bytes(x.finishedRunBytes),
        ]),
      ),
    );
    const cmds = f.rows.find((x) => x.target === 'redis' && x.processes === 1)?.topCommands ?? [];
    if (cmds.length) lines.push(`  per turn, one Redis, 1 process: ${cmds.map(([c, n]) => `${c} ${num(n)}`).join(', ')}`);
  }
  const rr = (name: string, v: number[]) => (v.length ? `${name} ${ratio(median(v))} (rounds ${v.map((x) => ratio(x)).join(', ')})` : null);
  const said = [rr('2 processes vs 1', f.twoVsOne), rr('4 vs 1', f.fourVsOne), rr('on the cluster, 2 vs 1', f.clusterTwoVsOne)].filter((x) => x !== null);
  if (said.length) lines.push(`  ratios of this run: ${said.join('; ')}`);
  lines.push(`  first turn: submit() called → the run's first model call in a worker, runs submitted one at a time (${p.latencyRuns} per round) after the batch; commands: INFO commandstats (inside scripts included) over the batch, ÷ its turns, API and workers together`);
  lines.push('  worker CPU: user + system time of the worker processes over the round ÷ its turns (a busy machine inflates it less than wall time, but does: caches and cores are shared); Redis µs: commandstats time ÷ turns');
  lines.push('  finished run: Redis used_memory after the batch less before, ÷ runs (record, journal, trace of a finished run; its jobs are removed on completion)');
  if (f.capacity) {
    const c = f.capacity;
    lines.push(
      `  at rest (one Redis, ${int(c.runs)} runs): a submitted run not yet taken ${bytes(c.queuedRunBytes)} (submit: ${num(c.submitCommands)} commands, ${bytes(c.submitBytes)} in); ` +
        `a run resting at an approval after ${c.turns} turns (its deadline a delayed job) ${bytes(c.restingRunBytes)}`,
    );
  }
  for (const [row, why] of Object.entries(f.skipped)) lines.push(`  ${row}: skipped, ${why}`);
  return lines.join('\n');
}
