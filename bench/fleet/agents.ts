import { z } from 'zod';
import type { Agent } from '../../agents/define-agent.js';
import { defineAgent } from '../../agents/define-agent.js';
import { scriptedModel } from '../../agents/scripted-model.js';
import { tool } from '../../agents/tool.js';
import { silent } from '../contenders/reins.js';
import { echo, GOAL } from '../workload.js';

/** The fleet section's agents, by id. */
export const FLEET_BENCH_AGENT = 'bench';
export const FLEET_REST_AGENT = 'bench-rest';

/** A charge a human approves first: where a resting run waits (the capacity model's run at rest). */
const approvedCharge = tool({
  name: 'approved_charge',
  description: 'a charge a human approves first',
  input: z.object({ i: z.number() }),
  sideEffect: 'non-idempotent',
  approval: true,
  run: (input) => ({ ...input, charged: true }),
  reconcile: async () => ({ applied: false }),
});

/**
 * The bench agent of the other sections (echo on turns 1..N, then `done`),
 * with `onModelCall` told of every model call (the section times a run's
 * first one). `bench-rest` makes its N echo turns and then asks for approval
 * of a charge: it rests there, holding no worker. N is the same for every
 * run a worker process hosts in a round (`turns`).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function fleetBenchAgents(turns: number, onModelCall: (runId: string, turn: number) => void): Agent<any>[] {
  const model = (withApproval: boolean) =>
    scriptedModel(({ runId, turn }) => {
      onModelCall(runId, turn);
      if (turn <= turns) return { call: 'echo', args: { i: turn } };
      if (withApproval && turn === turns + 1) return { call: 'approved_charge', args: { i: turn } };
      return { answer: 'done' };
    });
  const common = { goal: GOAL, progress: false, logger: silent } as const;
  return [
    defineAgent({ ...common, id: FLEET_BENCH_AGENT, model: model(false), tools: [echo] }),
    defineAgent({ ...common, id: FLEET_REST_AGENT, model: model(true), tools: [echo, approvedCharge], approval: { timeoutMs: 24 * 3_600_000 } }),
  ];
}
