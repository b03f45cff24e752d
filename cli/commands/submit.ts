import { InvalidArgumentError, type Command } from 'commander';
import { loadAgents, findAgent } from '../agents-option.js';
import { parseNonNegativeInt } from '../duration.js';
import { fleetConnection } from '../fleet-option.js';
import { openStore, storeSpec } from '../store-option.js';
import { print, printJson, withAgentsFlag, withJsonFlag, withStoreFlag, type AgentFlags, type StoreFlags } from '../session.js';

interface SubmitFlags extends StoreFlags, AgentFlags {
  readonly input?: unknown;
  readonly runId?: string;
  readonly priority?: number;
  readonly tenant?: string;
  readonly json?: boolean;
}

/** `--input`: a JSON value, or commander's usage error. */
function parseJson(value: string): unknown {
  try {
    return JSON.parse(value) as unknown;
  } catch (error) {
    throw new InvalidArgumentError(`expected JSON: ${(error as Error).message}`);
  }
}

/** `reins submit <agent>`: hands a new run to the fleet's workers and prints its id at once. */
export function registerSubmit(program: Command): void {
  const cmd = program
    .command('submit <agent>')
    .description("create a run and enqueue it for the fleet's workers (reins worker); prints the run id without waiting")
    .option('--input <json>', "the run's input, as JSON", parseJson)
    .option('--run-id <id>', 'the run id (submitting the same id again is the same run); default a random UUID')
    .option('--priority <n>', 'queue priority: 0 first come first served (default), 1 highest, larger later', parseNonNegativeInt)
    .option('--tenant <name>', "whose run it is: the workers' --tenant-cap caps each tenant's concurrent slices");
  withJsonFlag(withAgentsFlag(withStoreFlag(cmd))).action(async (agentId: string, flags: SubmitFlags) => {
    const spec = storeSpec(flags.store);
    const connection = fleetConnection(spec, 'submit');
    const agent = findAgent(await loadAgents(flags.agents), agentId);
    const store = await openStore(spec, { write: true });
    const { Supervisor } = await import('../../agents/supervisor.js');
    const { SliceQueue } = await import('../../agents/fleet/slice-queue.js');
    const queue = new SliceQueue(connection);
    const supervisor = await Supervisor.open({ store, agents: [agent], queue });
    try {
      const runId = await supervisor.submit(agent.id, {
        ...(flags.input !== undefined ? { input: flags.input } : {}),
        ...(flags.runId ? { runId: flags.runId } : {}),
        ...(flags.priority !== undefined ? { priority: flags.priority } : {}),
        ...(flags.tenant ? { tenant: flags.tenant } : {}),
      });
      if (flags.json) printJson({ runId, agentId: agent.id });
      else print(runId);
    } finally {
      await supervisor.close({ timeoutMs: 1_000 });
      await queue.close();
      await store.close();
    }
  });
}
