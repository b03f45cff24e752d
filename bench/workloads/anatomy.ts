import type { InspectionEvent } from 'xstate';
import { Supervisor } from '../../agents/supervisor.js';
import { benchAgent, silent, type StoreKit } from '../contenders/reins.js';
import { countingStore } from '../lib/counting-store.js';
import { CurrentClock, TurnClock } from '../workload.js';

/** What one turn of a reins run does, counted (not timed): the same on a busy machine as on a quiet one. */
export interface TurnAnatomy {
  readonly store: string;
  /** Turns counted (the middle of a run, away from its start and end). */
  readonly turns: number;
  /** Microsteps of the run's machine per turn (XState's `@xstate.microstep` inspection events). */
  readonly microsteps: number;
  /** `SnapshotStore.commit` calls per turn. */
  readonly commits: number;
  /** Store writes of any kind per turn (commits, saves, lease and index writes). */
  readonly writes: number;
  /** JSON bytes handed to the store per turn. */
  readonly bytes: number;
  /** Redis commands sent per turn (a script is one); null off Redis. */
  readonly redisCommands: number | null;
}

/**
 * Counts a turn's microsteps, commits and bytes: one run of `from + turns + 10`
 * turns on its own Supervisor with an inspector attached (untimed: inspection
 * is what counts the microsteps), the counters read at model call `from` and
 * `from + turns`.
 */
export async function turnAnatomy(kit: StoreKit, from = 20, turns = 100): Promise<TurnAnatomy> {
  const total = from + turns + 10;
  const board = new CurrentClock();
  const { store, counter } = countingStore(await kit.open());
  let microsteps = 0;
  let root: unknown = null;
  const inspect = (event: InspectionEvent) => {
    if (event.type === '@xstate.microstep' && event.actorRef === root) microsteps++;
  };
  const agent = benchAgent(() => total, board);
  const supervisor = await Supervisor.open({ store, agents: [agent], logger: silent, inspect });
  const marks: { microsteps: number; writes: number; commits: number; bytes: number; ops: number | null }[] = [];
  const mark = async () => {
    counter.counting = marks.length === 0;
    marks.push({ microsteps, writes: counter.writes, commits: counter.byMethod.get('commit') ?? 0, bytes: counter.bytes, ops: await kit.operations() });
  };
  try {
    board.current = new TurnClock(total, new Set([from, from + turns]), mark);
    const run = await supervisor.start(agent.id);
    root = run.actor;
    const outcome = await run.outcome;
    if (outcome.reason !== 'COMPLETED') throw new Error(`anatomy run ended ${outcome.reason}`);
    await store.delete(run.runId);
  } finally {
    await supervisor.close();
    await store.close();
    await kit.dispose();
  }
  const [a, b] = marks as [(typeof marks)[0], (typeof marks)[0]];
  return {
    store: kit.label,
    turns,
    microsteps: (b.microsteps - a.microsteps) / turns,
    commits: (b.commits - a.commits) / turns,
    writes: (b.writes - a.writes) / turns,
    bytes: (b.bytes - a.bytes) / turns,
    redisCommands: a.ops === null || b.ops === null ? null : (b.ops - a.ops) / turns,
  };
}
