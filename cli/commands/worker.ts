import type { Command } from 'commander';
import { requireAgents } from '../agents-option.js';
import { parseNonNegativeInt, parsePositiveInt } from '../duration.js';
import { fleetConnection } from '../fleet-option.js';
import { describeStore, openStore, storeSpec } from '../store-option.js';
import { otlpTracing } from '../tracing.js';
import { print, withAgentsFlag, withStoreFlag, type AgentFlags, type StoreFlags } from '../session.js';

interface WorkerFlags extends StoreFlags, AgentFlags {
  readonly recoverEvery: number;
  readonly concurrency: number;
  readonly sliceTurns: number;
  readonly sweepEvery: number;
  readonly tenantCap?: number;
}

/**
 * `reins worker`: on Redis, one worker of the fleet (BullMQ slices, at most
 * --concurrency at once); on a FileStore, hosts the store's runs and takes
 * over the ones a dead worker left, polling. Until SIGINT / SIGTERM.
 */
export function registerWorker(program: Command): void {
  const cmd = program
    .command('worker')
    .description("host runs: on Redis, take slices of submitted runs from the fleet's queue; on a FileStore, recover runs a dead worker left; until SIGINT / SIGTERM")
    .option('--concurrency <n>', 'Redis: slices in hand at once', parsePositiveInt, 8)
    .option('--slice-turns <n>', 'Redis: model turns per slice before the run goes back to the queue', parsePositiveInt, 50)
    .option('--sweep-every <ms>', 'Redis: how often the fleet looks for runs no job names (0: never)', parseNonNegativeInt, 300_000)
    .option('--tenant-cap <n>', "Redis: concurrent slices per tenant across the fleet", parsePositiveInt)
    .option('--recover-every <ms>', 'FileStore: how often to look for runs left behind (their lease expired)', parsePositiveInt, 5_000);
  withAgentsFlag(withStoreFlag(cmd)).action(async (flags: WorkerFlags) => {
    const spec = storeSpec(flags.store);
    const agents = await requireAgents(flags.agents, 'reins worker');
    const tracing = await otlpTracing();
    const store = await openStore(spec, { write: true });
    const { Supervisor } = await import('../../agents/supervisor.js');
    const stopped = new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    if (spec.kind === 'redis') {
      const { SliceQueue } = await import('../../agents/fleet/slice-queue.js');
      const { FleetWorker } = await import('../../agents/fleet/worker.js');
      const connection = fleetConnection(spec, 'worker');
      const queue = new SliceQueue(connection);
      const supervisor = await Supervisor.open({ store, agents, queue, observers: [...tracing.observers] });
      const worker = await FleetWorker.start({
        supervisor,
        connection,
        concurrency: flags.concurrency,
        slice: { maxTurns: flags.sliceTurns },
        sweepEveryMs: flags.sweepEvery,
        ...(flags.tenantCap !== undefined ? { tenantCap: flags.tenantCap } : {}),
        onSlice: (runId, end) => {
          if (end.kind === 'ended' && end.outcome) print(`${runId} ended ${end.outcome.reason}`);
          if (end.kind === 'resting') print(`${runId} rests (${end.why}${end.dueAt !== null ? `, due ${new Date(end.dueAt).toISOString()}` : ''})`);
        },
      });
      print(`reins worker ${supervisor.workerId} on ${describeStore(spec)}, ${flags.concurrency} slices at once, agents ${agents.map((a) => a.id).join(', ')}; Ctrl-C stops`);
      await stopped;
      print('stopping: finishing the slices in hand');
      await worker.close();
      await supervisor.close();
      await queue.close();
      await store.close();
      await tracing.shutdown();
      return;
    }
    const supervisor = await Supervisor.open({ store, agents, observers: [...tracing.observers] });
    const recover = async () => {
      const runs = await supervisor.recover();
      for (const run of runs) {
        print(`took over ${run.runId} (${run.agentId}, ${run.status().state})`);
        void run.outcome.then((o) => print(`${run.runId} ended ${o.reason}`));
      }
    };
    print(`reins worker ${supervisor.workerId} on ${describeStore(spec)} with agents ${agents.map((a) => a.id).join(', ')}${tracing.banner ? `, ${tracing.banner}` : ''}; Ctrl-C stops`);
    await recover();
    const timer = setInterval(() => void recover().catch((e: Error) => print(`recover failed: ${e.message}`)), flags.recoverEvery);
    await stopped;
    clearInterval(timer);
    print(`stopping: handing ${supervisor.hosted().length} runs back to the store`);
    await supervisor.close();
    await store.close();
    await tracing.shutdown();
  });
}
