import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Agent } from '../agents/define-agent.js';
import { CliError, ExitCode } from './exit-codes.js';

// Agents of any input type are registered side by side, as the Supervisor takes them.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyAgent = Agent<any>;

/** How the agents flag reads in every command's help. */
export const AGENTS_FLAG_HELP = 'module exporting `agents: Agent[]` (default REINS_AGENTS, else the demo fleet)';

const isAgent = (value: unknown): value is AnyAgent =>
  typeof value === 'object' && value !== null && typeof (value as AnyAgent).id === 'string' && typeof (value as AnyAgent).bind === 'function';

/**
 * The agent definitions a command needs (to draw a diagram, or to apply a
 * command to a run nobody hosts): the module named by `--agents` or
 * REINS_AGENTS, exporting `agents` (or a default export that is the array or
 * has it); the demo fleet's agents when neither is set.
 */
export async function loadAgents(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<AnyAgent[]> {
  const path = flag ?? env.REINS_AGENTS;
  if (!path) return [...(await import('../examples/fleet/index.js')).agents];
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(resolve(path)).href)) as Record<string, unknown>;
  } catch (error) {
    throw new CliError(ExitCode.usage, `--agents: cannot load ${path}: ${(error as Error).message.split('\n')[0]}`);
  }
  const fallback = mod.default as { agents?: unknown } | unknown[] | undefined;
  const list = mod.agents ?? (Array.isArray(fallback) ? fallback : fallback?.agents);
  if (!Array.isArray(list) || !list.every(isAgent)) throw new CliError(ExitCode.usage, `--agents: ${path} exports no \`agents\` array of defined agents`);
  return list;
}

/** The agent named `id`, or a not-found error that lists the ones there are. */
export function findAgent(agents: readonly AnyAgent[], id: string): AnyAgent {
  const agent = agents.find((a) => a.id === id);
  if (!agent) throw new CliError(ExitCode.notFound, `no agent named ${id} (known: ${agents.map((a) => a.id).join(', ') || 'none'}; load others with --agents)`);
  return agent;
}
