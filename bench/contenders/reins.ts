import { defineAgent, type Agent } from '../../agents/define-agent.js';
import { createLogger } from '../../agents/logger.js';
import { Supervisor } from '../../agents/supervisor.js';
import type { SnapshotStore } from '../../persistence/store.js';
import { countingStore } from '../lib/counting-store.js';
import { clockedModel, echo, GOAL, type ClockBoard, type CurrentClock, type TurnClock } from '../workload.js';
import { elapsed, type ByteMeter, type Contender, type RunResult } from './contender.js';

/** A store for reins rows: how to open it, and how to read the bytes that reached its medium. */
export interface StoreKit {
  readonly name: 'memory' | 'file' | 'redis';
  readonly label: string;
  open(): Promise<SnapshotStore>;
  /** Bytes that reached disk or wire so far (null: in-process only). */
  physicalBytes(): Promise<number | null>;
  /** Operations the medium has served so far (Redis commands); null where that is not counted. */
  operations(): Promise<number | null>;
  /** Removes what open() made (untimed). */
  dispose(): Promise<void>;
}

export const silent = createLogger({ level: 'silent' });

/** The bench agent as the lead specified it, with the loop window as a knob (the guard-cost workload varies it). */
export function benchAgent(turnsOf: (runId: string) => number, board: ClockBoard, loopWindow?: number, id = 'bench'): Agent {
  return defineAgent({
    id,
    goal: GOAL,
    model: clockedModel(turnsOf, board),
    tools: [echo],
    progress: false,
    logger: silent,
    ...(loopWindow !== undefined ? { loop: { window: loopWindow } } : {}),
  });
}

/**
 * (c)(d)(e) reins: the bench agent on a Supervisor over a store, one durable
 * run at a time: `supervisor.start('bench')` then `await run.outcome` is
 * timed (the first snapshot, lease, every transition persisted, journal
 * around every call, the terminal record). The run's data is deleted after
 * each run, untimed, so the store does not grow across repeats.
 */
export async function reinsContender(kit: StoreKit, board: CurrentClock, options: { loopWindow?: number; id?: string; label?: string } = {}): Promise<Contender> {
  let turns = 0;
  const { store, counter } = countingStore(await kit.open());
  const agent = benchAgent(() => turns, board, options.loopWindow);
  const supervisor = await Supervisor.open({ store, agents: [agent], logger: silent });
  const bytes: ByteMeter = {
    async read() {
      return { logical: counter.bytes, physical: await kit.physicalBytes(), ops: await kit.operations() };
    },
    counting(on) {
      counter.counting = on;
    },
  };
  return {
    id: options.id ?? `reins-${kit.name}`,
    label: options.label ?? `reins + ${kit.label}`,
    kind: 'reins',
    bytes,
    async run(n: number, clock: TurnClock, deadline?: number): Promise<RunResult> {
      turns = n;
      board.current = clock;
      const t0 = performance.now();
      let runId: string | null = null;
      clock.deadline = deadline;
      clock.onDeadline = () => {
        if (runId) void supervisor.kill(runId, 'bench', 'time cap').catch(() => undefined);
      };
      const timer = deadline === undefined ? undefined : setTimeout(() => clock.onDeadline?.(), Math.max(1, Math.ceil(deadline - performance.now())));
      const run = await supervisor.start(agent.id);
      runId = run.runId;
      if (clock.stopped) void supervisor.kill(runId, 'bench', 'time cap').catch(() => undefined);
      const outcome = await run.outcome;
      const ms = elapsed(t0, clock);
      clearTimeout(timer);
      const record = await store.load(run.runId);
      const recordBytes = Buffer.byteLength(JSON.stringify(record));
      await store.delete(run.runId);
      const completed = outcome.reason === 'COMPLETED';
      return {
        ms,
        turns: completed ? n : Math.max(0, clock.count - 1),
        completed,
        recordBytes,
        ...(completed ? {} : { note: outcome.reason === 'USER_KILLED' ? `stopped by the time cap after ${Math.max(0, clock.count - 1)} of ${n} turns` : `ended ${outcome.reason} after ${Math.max(0, clock.count - 1)} turns` }),
      };
    },
    async close() {
      await supervisor.close();
      await store.close();
      await kit.dispose();
    },
  };
}
