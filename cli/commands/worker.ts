import type { Command } from 'commander';
import { requireAgents } from '../agents-option.js';
import { parsePositiveInt } from '../duration.js';
import { describeStore, openStore, storeSpec } from '../store-option.js';
import { otlpTracing } from '../tracing.js';
import { print, withAgentsFlag, withStoreFlag, type AgentFlags, type StoreFlags } from '../session.js';

interface WorkerFlags extends StoreFlags, AgentFlags {
  readonly recoverEvery: number;
}

/** `reins worker`: hosts the store's runs until SIGINT / SIGTERM, taking over any a dead worker left behind. */
export function registerWorker(program: Command): void {
  const cmd = program
    .command('worker')
    .description('host runs from the store: recover the ones a dead worker left, take commands, until SIGINT / SIGTERM')
    .option('--recover-every <ms>', 'how often to look for runs left behind (their lease expired)', parsePositiveInt, 5_000);
  withAgentsFlag(withStoreFlag(cmd)).action(async (flags: WorkerFlags) => {
    const spec = storeSpec(flags.store);
    const agents = await requireAgents(flags.agents, 'reins worker');
    const tracing = await otlpTracing();
    const store = await openStore(spec, { write: true });
    const { Supervisor } = await import('../../agents/supervisor.js');
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
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    clearInterval(timer);
    print(`stopping: handing ${supervisor.hosted().length} runs back to the store`);
    await supervisor.close();
    await store.close();
    await tracing.shutdown();
  });
}
