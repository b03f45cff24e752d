import { afterEach } from 'vitest';
import { z } from 'zod';
import { defineAgent, FatalToolError, scriptedModel, tool, type Agent } from '../../index.js';
import { createLogger } from '../../agents/logger.js';
import { Supervisor } from '../../agents/supervisor.js';
import type { Hostable } from '../../agents/run-definition.js';
import type { Message } from '../../machines/model-types.js';
import type { SnapshotStore } from '../../persistence/store.js';
import { sleep } from '../support/tools.js';

/** Counts every call of the `work` tool across all children: how many are running now, and how many ever started or were aborted. */
export function callProbe() {
  // `hold`: calls by these names hang until aborted (a call in flight when its process dies).
  const state = { inFlight: 0, maxInFlight: 0, started: [] as string[], finished: [] as string[], aborted: [] as string[], hold: new Set<string>() };
  return state;
}
export type CallProbe = ReturnType<typeof callProbe>;

/** What a worker child is asked to do: take `ms`, then succeed, or fail with a fatal tool error. */
export const WorkInput = z.object({ name: z.string(), ms: z.number().int().nonnegative().default(0), fail: z.boolean().default(false), score: z.number().optional() });
export type WorkInput = z.input<typeof WorkInput>;

/** The goal text carries the input as JSON, so a scripted model can read it back. */
const PREFIX = 'work ';
function inputFrom(messages: readonly Message[]): unknown {
  const goal = messages.find((m) => m.role === 'user')?.content ?? '';
  return JSON.parse(goal.slice(goal.indexOf(PREFIX) + PREFIX.length));
}

/**
 * An agent that calls `work` once with its input and answers with the
 * result: `ms` long (abortable), failing TOOL_FAILURE when `fail`. Every call
 * is counted in `probe`, so tests can assert that no call outlives its run.
 */
export function workerAgent(id: string, probe: CallProbe): Agent<WorkInput> {
  const work = tool({
    name: 'work',
    description: 'does the work',
    input: WorkInput,
    sideEffect: 'idempotent',
    timeoutMs: 60_000,
    run: async (input, ctx) => {
      probe.inFlight++;
      probe.maxInFlight = Math.max(probe.maxInFlight, probe.inFlight);
      probe.started.push(input.name);
      try {
        await sleep(probe.hold.has(input.name) ? 3_600_000 : input.ms, ctx.signal);
        if (input.fail) throw new FatalToolError(`${input.name} broke`);
        probe.finished.push(input.name);
        return { name: input.name, score: input.score ?? null };
      } catch (error) {
        if (ctx.signal.aborted) probe.aborted.push(input.name);
        throw error;
      } finally {
        probe.inFlight--;
      }
    },
  });
  return defineAgent<WorkInput>({
    id,
    goal: (input) => `${PREFIX}${JSON.stringify(input)}`,
    model: scriptedModel(({ turn, messages, lastResults }) =>
      turn === 1 ? { call: 'work', args: inputFrom(messages) } : { answer: JSON.parse(lastResults[0]?.content ?? 'null') as never },
    ),
    tools: [work],
    progress: false,
    compaction: false,
  });
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** Registers a cleanup that runs after the test. */
export function onCleanup(fn: () => Promise<void>): void {
  cleanups.push(fn);
}

/** Opens a supervisor closed after the test (bounded: a frozen store never answers). */
export async function openSupervisor(store: SnapshotStore, agents: readonly Hostable[], workerId: string, leaseMs = 400): Promise<Supervisor> {
  const sup = await Supervisor.open({ store, agents, workerId, leaseMs, logger: quiet });
  cleanups.push(() => sup.close({ timeoutMs: 200 }));
  return sup;
}

/** Silent unless REINS_LOG_LEVEL says otherwise. */
export const quiet = createLogger();
