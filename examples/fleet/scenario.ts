import type { z } from 'zod';
import type { Limits } from '../../guards/budget.js';
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

/** One scripted run and the terminal reason it is designed to end with. */
export interface Scenario {
  /** Stable and readable (`support-02`); a demo's run id is `<demo prefix>.<scenario id>`. */
  readonly id: string;
  /** The registered agent that runs it (a variant carries per-scenario policies such as a short approval window). */
  readonly agentId: string;
  /** The task as a user would type it; it becomes the run's goal. */
  readonly goal: string;
  readonly expected: TerminalReason;
  readonly script: Script;
  readonly control?: Control;
  /** Limits for this run over its agent's, passed to `supervisor.start`. */
  readonly limits?: z.input<typeof Limits>;
}

/** What a scenario declares; `numbered` gives it its id and agent. */
export type ScenarioSpec = Omit<Scenario, 'id' | 'agentId'> & { readonly agent?: Agent<string> };

/** Every scenario's script by scenario id: the agents' one scripted model looks its run's script up here. */
const SCRIPTS = new Map<string, Script>();

/** The scenario id inside a run id: `<prefix>.<scenario>` or the bare scenario id. */
export function scenarioIdOf(runId: string): string {
  return runId.slice(runId.lastIndexOf('.') + 1);
}

/** A run id for one scenario of one demo invocation. */
export function runIdFor(prefix: string, scenarioId: string): string {
  return prefix ? `${prefix}.${scenarioId}` : scenarioId;
}

/** The scripted turn of run `ctx.runId`: agents are registered once, and every run finds its own script by its id. */
function scriptedTurn(ctx: ScriptContext): ScriptStep {
  const script = SCRIPTS.get(scenarioIdOf(ctx.runId));
  // A run that is not a fleet scenario is a bug in whoever started it: it ends INTERNAL_ERROR, saying so.
  if (!script) throw new Error(`no fleet scenario for run ${ctx.runId}`);
  // scriptedModel reports a missing turn (past the end of a list) as ScriptExhaustedError.
  return (typeof script === 'function' ? script(ctx) : script[ctx.turn - 1])!;
}

/** What one fleet agent fixes: its id, tools, instructions and policies. */
export interface FleetAgentSpec extends Omit<AgentOptions<string>, 'goal' | 'model' | 'prices'> {
  readonly modelLatencyMs: number;
}

/** Declares a fleet agent: the fleet's prices and limits, and one scripted model that plays every scenario by run id. */
export function fleetAgent(spec: FleetAgentSpec): Agent<string> {
  const { modelLatencyMs, limits, ...options } = spec;
  return defineAgent<string>({
    ...options,
    goal: (task) => task,
    model: scriptedModel(scriptedTurn, { id: FLEET_MODEL_ID, latencyMs: modelLatencyMs }),
    prices: FLEET_PRICES,
    limits: { ...FLEET_LIMITS, ...limits },
  });
}

/**
 * Scenarios numbered in order as `<group>-01`, `<group>-02`, …: ids stay
 * stable and readable when a scenario is added at the end. A scenario runs on
 * `agent` (a variant) when it names one, else on the group's agent.
 */
export function numbered(group: Agent<string>, specs: readonly ScenarioSpec[]): Scenario[] {
  return specs.map(({ agent, ...s }, i) => {
    const id = `${group.id}-${String(i + 1).padStart(2, '0')}`;
    if (SCRIPTS.has(id)) throw new Error(`two fleet scenarios are named ${id}`);
    SCRIPTS.set(id, s.script);
    return { ...s, id, agentId: (agent ?? group).id };
  });
}
