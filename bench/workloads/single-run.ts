import type { Contender, MeterReading, RunResult } from '../contenders/contender.js';
import { collect } from '../lib/system.js';
import { median, spread } from '../lib/stats.js';
import { TurnClock } from '../workload.js';

/** Time and bytes of one turn deep into a run. */
export interface GrowthPoint {
  readonly turn: number;
  /** Median duration of the turns around `turn` (the sampled turns themselves excluded), µs. */
  readonly usPerTurn: number;
  /** What the framework handed its store during this turn (JSON bytes); null for rows without a store. */
  readonly logicalBytes: number | null;
  /** What reached the medium during this turn: file writes (write(2) bytes) or Redis wire bytes; null when in-process. */
  readonly physicalBytes: number | null;
  /** Redis commands the process sent during this turn (its round trips; a script is one); null where not counted. */
  readonly ops: number | null;
}

/** One contender at one N: every repeat, and the medians. */
export interface SingleRunRow {
  readonly id: string;
  readonly label: string;
  readonly kind: Contender['kind'];
  readonly turns: number;
  readonly repeats: number;
  readonly runsMs: number[];
  readonly medianMs: number;
  readonly usPerTurn: number;
  readonly turnsPerSecond: number;
  /** Median duration of one turn over all turns of a run (median over repeats): the typical turn, without GC pauses and scheduler stalls. */
  readonly medianTurnUs?: number;
  /** (max - min) / median of the repeats. */
  readonly spread: number;
  /** Every repeat finished all its turns. */
  readonly completed: boolean;
  readonly notes: string[];
  /** Median size of the stored record at the end of the run (rows with a store). */
  readonly recordBytes: number | null;
  /** Medians over repeats of each growth point reached. */
  readonly growth: GrowthPoint[];
}

export interface SingleRunPlan {
  readonly sizes: readonly number[];
  readonly repeats: (turns: number, c: Contender) => number;
  /** Turns of the warm-up run each contender makes before anything is measured. */
  readonly warmupTurns: number;
  /** A wall-clock cap per run (ms) for rows that would otherwise take many minutes; undefined: none. */
  readonly capMs: (turns: number, c: Contender) => number | undefined;
  readonly growthTurns: readonly number[];
  readonly progress: (line: string) => void;
  /** Told the rows of each N as soon as they are measured (later sizes plan their repeats from them). */
  readonly onSize?: (rows: SingleRunRow[]) => void;
}

/** Median duration of the turns in a window around `turn`, leaving out the turns the sampler touched. */
function windowUs(clock: TurnClock, turn: number, skip: ReadonlySet<number>): number {
  const w = Math.max(4, Math.round(turn * 0.05));
  const durations: number[] = [];
  for (let k = Math.max(1, turn - w); k <= turn + w; k++) {
    if (skip.has(k) || skip.has(k + 1)) continue;
    const ms = clock.turnMs(k);
    if (Number.isFinite(ms)) durations.push(ms * 1000);
  }
  return median(durations);
}

/**
 * Workloads 1 and 4: one run of N turns per contender, repeated, the
 * contenders interleaved round by round (and their order rotated) so that a
 * noisy moment hurts all rows alike; a full GC before every run. The growth
 * points come from the same runs: a clock ticks at every model call, and at
 * turns 10, 100, 1,000, 10,000 the bytes written during that one turn are read.
 */
export async function singleRuns(contenders: readonly Contender[], plan: SingleRunPlan): Promise<SingleRunRow[]> {
  for (const c of contenders) {
    collect();
    const r = await c.run(plan.warmupTurns, new TurnClock(plan.warmupTurns));
    plan.progress(`warm-up ${c.id}: ${plan.warmupTurns} turns in ${r.ms.toFixed(0)} ms${r.completed ? '' : ` (${r.note ?? 'incomplete'})`}`);
  }
  const rows: SingleRunRow[] = [];
  for (const n of plan.sizes) {
    const before = rows.length;
    const results = new Map<Contender, { runs: RunResult[]; growth: GrowthPoint[][]; typical: number[] }>(contenders.map((c) => [c, { runs: [], growth: [], typical: [] }]));
    const rounds = Math.max(...contenders.map((c) => plan.repeats(n, c)));
    for (let round = 0; round < rounds; round++) {
      // A row with fewer repeats (a capped LangGraph row at N = 10,000) runs in the last rounds, after the rows
      // that run every round: what it leaves behind (gigabytes of checkpoints to collect, a database still busy
      // with its writes) then slows no row measured after it. Seen in a full run: every row's second round at
      // N = 10,000, after the capped rows, took twice its first.
      const order = contenders
        .map((_, i) => contenders[(i + round) % contenders.length]!)
        .sort((a, b) => Number(plan.repeats(n, a) < rounds) - Number(plan.repeats(n, b) < rounds));
      for (const c of order) {
        if (round < rounds - plan.repeats(n, c)) continue;
        const points = plan.growthTurns.filter((t) => t <= n);
        const sampled = new Set(points.flatMap((t) => [t, t + 1]));
        const bytes = new Map<number, MeterReading>();
        const meter = c.bytes;
        const clock = new TurnClock(
          n,
          sampled,
          meter
            ? async (turn) => {
                const now = await meter.read();
                if (points.includes(turn)) {
                  bytes.set(turn, now);
                  meter.counting(true);
                } else {
                  meter.counting(false);
                  const before = bytes.get(turn - 1);
                  const diff = (a: number | null, b: number | null) => (a === null || b === null ? null : a - b);
                  if (before) bytes.set(turn - 1, { logical: now.logical - before.logical, physical: diff(now.physical, before.physical), ops: diff(now.ops, before.ops) });
                }
              }
            : null,
        );
        collect();
        const cap = plan.capMs(n, c);
        const result = await c.run(n, clock, cap === undefined ? undefined : performance.now() + cap);
        meter?.counting(false);
        const entry = results.get(c)!;
        entry.runs.push(result);
        const durations: number[] = [];
        for (let k = 1; k < clock.count; k++) if (!sampled.has(k) && !sampled.has(k + 1)) durations.push(clock.turnMs(k) * 1000);
        entry.typical.push(median(durations));
        entry.growth.push(
          points
            .filter((t) => t < clock.count)
            .map((t) => ({
              turn: t,
              usPerTurn: windowUs(clock, t, sampled),
              logicalBytes: meter ? (bytes.get(t)?.logical ?? null) : null,
              physicalBytes: meter ? (bytes.get(t)?.physical ?? null) : null,
              ops: meter ? (bytes.get(t)?.ops ?? null) : null,
            })),
        );
        plan.progress(
          `N=${n} round ${round - (rounds - plan.repeats(n, c)) + 1}/${plan.repeats(n, c)} ${c.id}: ${result.ms.toFixed(0)} ms, ${((result.ms * 1000) / Math.max(1, result.turns)).toFixed(0)} µs/turn${result.completed ? '' : ` (${result.note ?? 'incomplete'})`}`,
        );
      }
    }
    for (const c of contenders) {
      const { runs, growth, typical } = results.get(c)!;
      if (runs.length === 0) continue;
      // A run stopped by the cap is reported per turn it completed: a lower bound on a full run's cost, marked as such.
      const perTurn = runs.map((r) => (r.ms * 1000) / Math.max(1, r.turns));
      const usPerTurn = median(perTurn);
      const medianMs = median(runs.map((r) => r.ms));
      const reached = new Set(growth.flatMap((g) => g.map((p) => p.turn)));
      rows.push({
        id: c.id,
        label: c.label,
        kind: c.kind,
        turns: n,
        repeats: runs.length,
        runsMs: runs.map((r) => r.ms),
        medianMs,
        usPerTurn,
        turnsPerSecond: 1e6 / usPerTurn,
        medianTurnUs: median(typical),
        spread: spread(perTurn),
        completed: runs.every((r) => r.completed),
        recordBytes: runs.some((r) => r.recordBytes !== undefined) ? median(runs.map((r) => r.recordBytes ?? Number.NaN)) : null,
        notes: [...new Set(runs.filter((r) => r.note).map((r) => r.note!))],
        growth: [...reached].sort((a, b) => a - b).map((turn) => {
          const at = growth.map((g) => g.find((p) => p.turn === turn)).filter((p): p is GrowthPoint => p !== undefined);
          const nums = (f: (p: GrowthPoint) => number | null) => at.map(f).filter((v): v is number => v !== null);
          const logical = nums((p) => p.logicalBytes);
          const physical = nums((p) => p.physicalBytes);
          const ops = nums((p) => p.ops);
          return {
            turn,
            usPerTurn: median(at.map((p) => p.usPerTurn)),
            logicalBytes: logical.length ? median(logical) : null,
            physicalBytes: physical.length ? median(physical) : null,
            ops: ops.length ? median(ops) : null,
          };
        }),
      });
    }
    plan.onSize?.(rows.slice(before));
  }
  return rows;
}
