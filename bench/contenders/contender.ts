import type { TurnClock } from '../workload.js';

/** One timed run. `ms` excludes the growth sampler's own time. */
export interface RunResult {
  readonly ms: number;
  /** Tool turns completed (N when the run finished). */
  readonly turns: number;
  readonly completed: boolean;
  /** Why a run did not finish (a time cap, an error). */
  readonly note?: string;
  /** Size of the run's stored record (JSON) when it ended, for rows with a store. */
  readonly recordBytes?: number;
}

/** A way to run the bench agent: a baseline, reins on a store, or LangGraph with a saver. */
export interface Contender {
  readonly id: string;
  readonly label: string;
  readonly kind: 'baseline' | 'reins' | 'langgraph';
  /** One run of `turns` tool turns: untimed setup, then timed from start to outcome. `deadline` (performance.now() ms) stops slow contenders early. */
  run(turns: number, clock: TurnClock, deadline?: number): Promise<RunResult>;
  /** Bytes a turn writes, read by the growth workload at sampled turns (null: this contender writes nothing). */
  readonly bytes?: ByteMeter;
  close(): Promise<void>;
}

/** Cumulative counters: logical bytes, physical bytes, and store operations that reached the medium (Redis commands). */
export interface MeterReading {
  readonly logical: number;
  readonly physical: number | null;
  readonly ops: number | null;
}

/** Reads cumulative bytes written so far: logical (what the framework handed its store) and physical (what reached the disk or the wire). */
export interface ByteMeter {
  read(): Promise<MeterReading>;
  /** Logical bytes are counted only while on (counting costs a JSON.stringify per write). */
  counting(on: boolean): void;
}

/** Milliseconds since `t0`, less the time the clock's sampler took. */
export function elapsed(t0: number, clock: TurnClock): number {
  return performance.now() - t0 - clock.samplerMs;
}
