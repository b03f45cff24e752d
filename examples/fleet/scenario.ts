import { defineAgent, type Agent, type AgentOptions } from '../../agents/define-agent.js';
import { scriptedModel, type ScriptContext, type ScriptStep } from '../../agents/scripted-model.js';
import type { TerminalReason } from '../../machines/outcome.js';

/** The model id every fleet agent reports; priced below so that every run's cost is known and a cost budget can bite. */
const FLEET_MODEL_ID = 'sim-1';

/** A made-up list price for the scripted model: an unpriced model's cost is unknown, and unknown cost never breaches. */
const FLEET_PRICES = { [FLEET_MODEL_ID]: { inputPerMTok: 3, outputPerMTok: 15 } };

/** Every fleet run gets these, so that the live table has the same three budget bars for all of them. */
const FLEET_LIMITS = { maxTurns: 12, maxCostUsd: 0.1, maxWallClockMs: 10_000 };

/** A scripted model's turns: a fixed list, or a function of the transcript for runs that react to what they see. */
export type Script = readonly ScriptStep[] | ((ctx: ScriptContext) => ScriptStep);

/** What the demo's operator does to a run while it is in flight. */
export type Control = 'pause-resume' | 'kill' | 'approve' | 'reject';

/** Per-scenario policy overrides: a tighter limit, a shorter approval window, a more eager progress judge. */
export type Tuning = Pick<AgentOptions<string>, 'limits' | 'approval' | 'progress'>;

/** An agent kind as the fleet uses it: a fixed id, instructions and tools, built per run around that run's script. */
export interface FleetAgent {
  readonly id: string;
  build(script: Script, tuning: Tuning): Agent<string>;
}

/** One scripted run and the terminal reason it is designed to end with. */
export interface Scenario {
  readonly runId: string;
  readonly agent: FleetAgent;
  /** The task as a user would type it; it becomes the run's goal. */
  readonly goal: string;
  readonly expected: TerminalReason;
  readonly script: Script;
  readonly control?: Control;
  readonly tuning?: Tuning;
}

/** What an agent kind fixes; `options` is called once per run, so a stateful fake world is never shared between runs. */
export interface FleetAgentSpec {
  id: string;
  modelLatencyMs: number;
  options: () => Omit<AgentOptions<string>, 'id' | 'goal' | 'model' | 'prices'>;
}

/** Declares an agent kind of the fleet: each run gets a fresh world, the fleet's prices and limits, and its own scripted model. */
export function fleetAgent(spec: FleetAgentSpec): FleetAgent {
  return {
    id: spec.id,
    build(script, tuning) {
      const base = spec.options();
      return defineAgent<string>({
        ...base,
        ...tuning,
        id: spec.id,
        goal: (task) => task,
        model: scriptedModel(script, { id: FLEET_MODEL_ID, latencyMs: spec.modelLatencyMs }),
        prices: FLEET_PRICES,
        limits: { ...FLEET_LIMITS, ...base.limits, ...tuning.limits },
      });
    },
  };
}

/** Scenarios numbered in order as `<agent>-01`, `<agent>-02`, …: ids stay stable and readable when a scenario is added at the end. */
export function numbered(agent: FleetAgent, scenarios: ReadonlyArray<Omit<Scenario, 'runId' | 'agent'>>): Scenario[] {
  return scenarios.map((s, i) => ({ ...s, agent, runId: `${agent.id}-${String(i + 1).padStart(2, '0')}` }));
}
