import type { z } from 'zod';
import { agentOptionsOf, defineAgent, type Agent } from '../agents/define-agent.js';
import { ReinsError } from '../agents/errors.js';
import type { Logger } from '../agents/logger.js';
import type { Model } from '../agents/model.js';
import { definePipeline, pipelineOptionsOf, type Pipeline, type StageOptions } from '../agents/pipeline.js';
import type { Hostable } from '../agents/run-definition.js';
import { scriptedModel, type ScriptContext, type ScriptStep } from '../agents/scripted-model.js';
import type { CallLog, MockTool } from './mock-tool.js';

/** A model for a scenario: a script (a list of turns, or a function of the transcript) or any Model. */
export type ModelScript = readonly ScriptStep[] | ((ctx: ScriptContext) => ScriptStep) | Model;

/** What a scenario replaces in one agent: its model, and tools by name. */
export interface AgentScript {
  readonly model?: ModelScript;
  readonly tools?: readonly MockTool[];
}

/** What the agent or pipeline under test is made of; an agent defined outside `defineAgent` cannot be rebuilt. */
export class NotRedefinableError extends ReinsError {
  constructor(id: string) {
    super('not-redefinable', `${id} was not made by defineAgent or definePipeline, so a scenario cannot give it a scripted model, mock tools and a virtual clock`);
  }
}

/** A mock for a tool the agent does not have: a typo would otherwise leave the real tool running. */
export class UnknownToolError extends ReinsError {
  constructor(agentId: string, tool: string, known: readonly string[]) {
    super('unknown-tool', `agent ${agentId} has no tool ${tool} (it has ${known.join(', ') || 'none'})`);
  }
}

/** A script for an agent id that the target does not run. */
export class UnknownStageAgentError extends ReinsError {
  constructor(targetId: string, agentId: string, known: readonly string[]) {
    super('unknown-stage-agent', `${targetId} runs no agent ${agentId} (it runs ${known.join(', ')})`);
  }
}

/** How the target is rebuilt: the scripts per agent id, the scenario's clock and log, and where calls are recorded. */
export interface Rebuild {
  readonly scripts: ReadonlyMap<string, AgentScript>;
  readonly now: () => number;
  readonly logger: Logger;
  readonly calls: CallLog;
}

/** Turns a model script into a Model. */
export function modelOf(script: ModelScript): Model {
  return typeof script === 'function' || Array.isArray(script) ? scriptedModel(script as readonly ScriptStep[]) : (script as Model);
}

/** The agent with the scenario's model, mocks (every tool recorded) and clock; same id, same policies. */
export function rebuildAgent<I>(agent: Agent<I>, rebuild: Rebuild): Agent<I> {
  const options = agentOptionsOf(agent);
  if (!options) throw new NotRedefinableError(agent.id);
  const script = rebuild.scripts.get(agent.id) ?? {};
  const tools = options.tools ?? [];
  const mocks = new Map((script.tools ?? []).map((m) => [m.name, m]));
  for (const name of mocks.keys()) if (!tools.some((t) => t.name === name)) throw new UnknownToolError(agent.id, name, tools.map((t) => t.name));
  return defineAgent<I, z.ZodType>({
    ...options,
    ...(script.model ? { model: modelOf(script.model) } : {}),
    tools: tools.map((t) => rebuild.calls.wrap(t, mocks.get(t.name))),
    now: rebuild.now,
    logger: rebuild.logger,
  });
}

/** The pipeline with every stage agent rebuilt (nested pipelines too) and the scenario's clock. */
export function rebuildPipeline<I>(pipeline: Pipeline<I>, rebuild: Rebuild): Pipeline<I> {
  const options = pipelineOptionsOf(pipeline);
  if (!options) throw new NotRedefinableError(pipeline.id);
  const used = new Map<Hostable, Hostable>();
  const stages = Object.fromEntries(
    Object.entries(options.stages as Record<string, StageOptions<string, I, unknown>>).map(([name, stage]) => {
      let agent = used.get(stage.agent);
      if (!agent) used.set(stage.agent, (agent = rebuildHostable(stage.agent, rebuild)));
      return [name, { ...stage, agent }];
    }),
  );
  return definePipeline({ ...options, stages, now: rebuild.now });
}

/** Rebuilds an agent or a pipeline. */
export function rebuildHostable(target: Hostable, rebuild: Rebuild): Hostable {
  if ('kind' in target && target.kind === 'pipeline') return rebuildPipeline(target as Pipeline<unknown>, rebuild);
  if ('definition' in target) throw new NotRedefinableError(target.definition.id);
  return rebuildAgent(target, rebuild);
}

/** Every agent a target runs, by id: itself, or its stages' agents all the way down. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function agentsIn(target: Hostable): Map<string, Agent<any>> {
  if ('kind' in target && target.kind === 'pipeline') {
    const options = pipelineOptionsOf(target as Pipeline<unknown>);
    if (!options) throw new NotRedefinableError((target as Pipeline<unknown>).id);
    return new Map(Object.values(options.stages as Record<string, StageOptions<string, unknown, unknown>>).flatMap((s) => [...agentsIn(s.agent)]));
  }
  if ('definition' in target) throw new NotRedefinableError(target.definition.id);
  return new Map([[target.id, target]]);
}
