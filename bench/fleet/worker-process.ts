/**
 * A worker process of the fleet section: stays up for the whole section and
 * becomes a FleetWorker (the one `reins worker` runs) on the prefix the bench
 * names for each round, so that process start-up is paid once and a round
 * with k workers has exactly k processes taking slices.
 *
 *   node --import tsx bench/fleet/worker-process.ts   (IPC: FleetCommand in, FleetReport out)
 */
import { SliceQueue } from '../../agents/fleet/slice-queue.js';
import { FleetWorker } from '../../agents/fleet/worker.js';
import { Supervisor } from '../../agents/supervisor.js';
import { silent } from '../contenders/reins.js';
import { fleetBenchAgents } from './agents.js';
import { openOn } from './connect.js';
import { epochMs, type FleetCommand, type FleetReport } from './protocol.js';

const send = (m: FleetReport) => process.connected && process.send?.(m);
process.on('disconnect', () => process.exit(0));

interface Round {
  close(): Promise<void>;
  slices: number;
  held: number;
  /** CPU time of this process when the round started (user + system): a busy machine stretches it less than wall time. */
  readonly cpu: NodeJS.CpuUsage;
}

let round: Round | null = null;
let first: Array<readonly [string, number]> = [];
let ended = 0;
let rested = 0;
const seen = new Set<string>();

function flush(): void {
  send({ type: 'progress', first, ended, rested });
  first = [];
  ended = 0;
  rested = 0;
}

// News goes out in batches: one IPC message per run would cost the worker more than the turns it measures.
const flusher = setInterval(() => {
  if (first.length === 0 && ended === 0 && rested === 0) return;
  flush();
}, 10);
flusher.unref();

async function start(c: Extract<FleetCommand, { type: 'start' }>): Promise<Round> {
  const { store, connection, close } = await openOn(c.target, c.prefix);
  const queue = new SliceQueue(connection);
  seen.clear();
  const agents = fleetBenchAgents(c.turns, (runId, turn) => {
    if (turn !== 1 || seen.has(runId)) return;
    seen.add(runId);
    first.push([runId, epochMs()]);
  });
  const supervisor = await Supervisor.open({ store, agents, queue, logger: silent });
  const r: Round = { slices: 0, held: 0, cpu: process.cpuUsage(), close: async () => undefined };
  const worker = await FleetWorker.start({
    supervisor,
    connection,
    concurrency: c.concurrency,
    slice: { maxTurns: c.sliceTurns },
    sweepEveryMs: 0,
    onSlice: (_runId, end) => {
      r.slices++;
      if (end.kind === 'held') r.held++;
      if (end.kind === 'ended') ended++;
      if (end.kind === 'resting') rested++;
    },
  });
  r.close = async () => {
    await worker.close();
    await supervisor.close();
    await queue.close();
    await close();
  };
  return r;
}

process.on('message', (c: FleetCommand) => {
  void (async () => {
    try {
      if (c.type === 'start') {
        round = await start(c);
        send({ type: 'started' });
      } else if (round) {
        await round.close();
        flush();
        const cpu = process.cpuUsage(round.cpu);
        send({ type: 'stopped', slices: round.slices, held: round.held, cpuMs: (cpu.user + cpu.system) / 1000 });
        round = null;
      }
    } catch (error) {
      send({ type: 'failed', message: error instanceof Error ? error.message : String(error) });
    }
  })();
});
send({ type: 'up' });
