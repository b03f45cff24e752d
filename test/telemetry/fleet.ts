import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { defineAgent, FatalToolError, scriptedModel, tool, type ScriptContext, type ScriptStep, type TerminalOutcome, type TerminalReason } from '../../index.js';
import type { AgentRun } from '../../agents/agent-run.js';
import type { RunObserver } from '../../agents/observer.js';
import { Supervisor } from '../../agents/supervisor.js';
import { MemoryStore } from '../../persistence/memory-store.js';
import type { TraceEntry } from '../../persistence/records.js';

/** Each scenario's script, turn by turn; one agent serves every scenario, picked by the run id's prefix. */
const SCRIPTS: Record<string, readonly ScriptStep[]> = {
  completed: [{ call: 'lookup', args: { id: '1', apiKey: 'sekrit-key' } }, { answer: 'found it' }],
  completedDirect: [{ answer: 'nothing to look up' }],
  infeasible: [{ giveUp: 'no such order' }],
  toolFailure: [{ call: 'lookup', args: { id: 'broken', apiKey: 'k' } }, { answer: 'unreachable' }],
  refused: [{ refuse: 'I cannot help with that' }],
  // Distinct arguments every turn, so that the loop guard stays quiet and the turn budget is what ends it.
  budget: [1, 2, 3, 4, 5].map((n) => ({ call: 'lookup', args: { id: String(n), apiKey: 'k' } })),
};

/** Scenario names, each with the terminal reason it ends in. */
export const EXPECTED: Record<keyof typeof SCRIPTS, TerminalReason> = {
  completed: 'COMPLETED',
  completedDirect: 'COMPLETED',
  infeasible: 'INFEASIBLE',
  toolFailure: 'TOOL_FAILURE',
  refused: 'MODEL_REFUSED',
  budget: 'BUDGET_EXCEEDED',
};
export type ScenarioName = keyof typeof EXPECTED;

function script(ctx: ScriptContext): ScriptStep {
  const name = ctx.runId.split(':')[0]!;
  const step = SCRIPTS[name]?.[ctx.turn - 1];
  if (!step) throw new Error(`no turn ${ctx.turn} in script ${name}`);
  return step;
}

/** Tool executions, counted where they run: the ground truth for latency histograms and tool spans. */
export const toolRuns = { count: 0 };

const lookup = tool({
  name: 'lookup',
  description: 'Looks an order up',
  input: z.object({ id: z.string(), apiKey: z.string() }),
  sideEffect: 'none',
  run: async ({ id }) => {
    toolRuns.count++;
    await new Promise((resolve) => setTimeout(resolve, 5));
    if (id === 'broken') throw new FatalToolError('the order service refused the request');
    return { id, status: 'shipped' };
  },
});

/** The model id the scripted agents report; `support` prices it, `research` does not (its cost stays unknown). */
export const MODEL_ID = 'scripted';

export const support = defineAgent({
  id: 'support',
  goal: 'resolve the ticket',
  model: scriptedModel(script, { id: MODEL_ID }),
  tools: [lookup],
  prices: { [MODEL_ID]: { inputPerMTok: 3, outputPerMTok: 15 } },
  progress: false,
});

export const research = defineAgent({
  id: 'research',
  goal: 'research the question',
  model: scriptedModel(script, { id: MODEL_ID }),
  tools: [lookup],
  progress: false,
});

const refund = tool({
  name: 'refund',
  description: 'Refunds an order',
  input: z.object({ amount: z.number() }),
  sideEffect: 'non-idempotent',
  approval: true,
  run: ({ amount }) => ({ refunded: amount }),
});

/** Every call needs a human: its runs wait in awaitingApproval until approved. */
export const gated = defineAgent({
  id: 'gated',
  goal: 'refund the order',
  model: scriptedModel([{ call: 'refund', args: { amount: 5 } }, { answer: 'refunded' }], { id: MODEL_ID }),
  tools: [refund],
  progress: false,
});

/** A run id for a scenario: the prefix picks the script, the UUID makes it unique (and easy to look for in labels). */
export function runIdFor(scenario: ScenarioName): string {
  return `${scenario}:${randomUUID()}`;
}

/** One finished run of the fleet. */
export interface FleetRun {
  readonly run: AgentRun;
  readonly runId: string;
  readonly agentId: string;
  readonly scenario: ScenarioName;
  readonly outcome: TerminalOutcome;
  readonly trace: TraceEntry[];
}

/** The runs the tests start: [agent, scenario] in order. */
export const FLEET: ReadonlyArray<readonly ['support' | 'research', ScenarioName]> = [
  ['support', 'completed'],
  ['support', 'completed'],
  ['support', 'completedDirect'],
  ['support', 'infeasible'],
  ['support', 'toolFailure'],
  ['support', 'budget'],
  ['research', 'completed'],
  ['research', 'infeasible'],
  ['research', 'refused'],
];

/** Runs the fleet on a Supervisor over a MemoryStore with the given observers; every run ends before this resolves. */
export async function runFleet(
  observers: readonly RunObserver[],
  options: { store?: MemoryStore; inspect?: Parameters<typeof Supervisor.open>[0]['inspect'] } = {},
): Promise<{ store: MemoryStore; supervisor: Supervisor; runs: FleetRun[] }> {
  const store = options.store ?? new MemoryStore();
  const supervisor = await Supervisor.open({
    store,
    agents: [support, research, gated],
    workerId: `telemetry-${randomUUID().slice(0, 8)}`,
    observers,
    ...(options.inspect ? { inspect: options.inspect } : {}),
  });
  const started = await Promise.all(
    FLEET.map(async ([agentId, scenario]) => {
      const runId = runIdFor(scenario);
      const run = await supervisor.start(agentId, { runId, ...(scenario === 'budget' ? { limits: { maxTurns: 3 } } : {}) });
      return { run, agentId, scenario };
    }),
  );
  const runs: FleetRun[] = [];
  for (const { run, agentId, scenario } of started) {
    const outcome = await run.outcome;
    runs.push({ run, runId: run.runId, agentId, scenario, outcome, trace: await store.traceRead(run.runId) });
  }
  return { store, supervisor, runs };
}
