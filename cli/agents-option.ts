import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Agent } from '../agents/define-agent.js';
import { CliError, ExitCode } from './exit-codes.js';

// Agents of any input type are registered side by side, as the Supervisor takes them.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyAgent = Agent<any>;

/** The files `reins` looks for in the working folder when neither --agents nor REINS_AGENTS names a module. */
export const CONFIG_FILES = ['reins.config.ts', 'reins.config.mts', 'reins.config.js', 'reins.config.mjs'] as const;

/** How the agents flag reads in every command's help. */
export const AGENTS_FLAG_HELP = 'module exporting `agents: Agent[]` (default REINS_AGENTS, else ./reins.config.ts or .js)';

const isAgent = (value: unknown): value is AnyAgent =>
  typeof value === 'object' && value !== null && typeof (value as AnyAgent).id === 'string' && typeof (value as AnyAgent).bind === 'function';

/** The config file in `cwd`, if there is one. */
function configIn(cwd: string): string | null {
  return CONFIG_FILES.find((name) => existsSync(resolve(cwd, name))) ?? null;
}

/** The file of tsx's ES module API (`tsx/esm/api`) in the user's project, or null when tsx is not installed there. */
function tsxEsmApi(): string | null {
  let manifest: string;
  try {
    manifest = createRequire(resolve('package.json')).resolve('tsx/package.json');
  } catch {
    return null;
  }
  // The ES module entry, as an import would resolve it: the CommonJS one that require.resolve gives cannot register ESM hooks.
  const entry = (JSON.parse(readFileSync(manifest, 'utf8')) as { exports?: Record<string, { import?: string | { default?: string } }> }).exports?.['./esm/api']?.import;
  const file = typeof entry === 'string' ? entry : entry?.default;
  return file ? join(dirname(manifest), file) : null;
}

/** Registers tsx's loader from the user's project, so that a TypeScript config loads on a Node that cannot strip types. */
async function registerTypeScript(path: string): Promise<void> {
  const api = tsxEsmApi();
  if (!api) throw new CliError(ExitCode.usage, `${path} is TypeScript and this Node cannot load it: npm install -D tsx (reins uses it when it is there), or write it as .js`);
  const { register } = (await import(pathToFileURL(api).href)) as { register: () => unknown };
  register();
}

/** Whether this process loads TypeScript already: it runs from source under a loader, or Node strips types itself. */
function loadsTypeScript(): boolean {
  return import.meta.url.endsWith('.ts') || Boolean((process.features as { typescript?: unknown }).typescript);
}

/** Imports a module by path, through tsx when Node cannot load TypeScript itself. */
async function importModule(path: string): Promise<Record<string, unknown>> {
  // Registered before the first try: Node keeps a failed import's error for that URL, so a retry would fail again.
  if (/\.[cm]?ts$/.test(path) && !loadsTypeScript()) await registerTypeScript(path);
  return (await import(pathToFileURL(resolve(path)).href)) as Record<string, unknown>;
}

/**
 * The user's agent definitions, to draw a diagram, host runs, or apply a
 * command to a run nobody hosts: the module named by `--agents`, else
 * REINS_AGENTS, else `reins.config.ts` (or .mts, .js, .mjs) in the working
 * folder, exporting `agents` (or a default export that is the array or has
 * it). None of these: no agents (the demo's fleet is only `reins demo`'s).
 */
export async function loadAgents(flag: string | undefined, env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): Promise<AnyAgent[]> {
  const path = flag ?? env.REINS_AGENTS ?? configIn(cwd);
  if (!path) return [];
  let mod: Record<string, unknown>;
  try {
    mod = await importModule(resolve(cwd, path));
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError(ExitCode.usage, `cannot load agents from ${path}: ${(error as Error).message.split('\n')[0]}`);
  }
  const fallback = mod.default as { agents?: unknown } | unknown[] | undefined;
  const list = mod.agents ?? (Array.isArray(fallback) ? fallback : fallback?.agents);
  if (!Array.isArray(list) || !list.every(isAgent)) throw new CliError(ExitCode.usage, `${path} exports no \`agents\` array of defined agents`);
  return list;
}

/** The user's agents, for commands that cannot do without them: a usage error saying where agents come from when there are none. */
export async function requireAgents(flag: string | undefined, command: string): Promise<AnyAgent[]> {
  const agents = await loadAgents(flag);
  if (agents.length === 0) {
    throw new CliError(ExitCode.usage, `${command} needs your agents: write reins.config.ts exporting \`agents\` (reins init scaffolds one), or pass --agents <module>`);
  }
  return agents;
}

/** The agent named `id`, or a not-found error that lists the ones there are. */
export function findAgent(agents: readonly AnyAgent[], id: string): AnyAgent {
  const agent = agents.find((a) => a.id === id);
  if (!agent) throw new CliError(ExitCode.notFound, `no agent named ${id} (known: ${agents.map((a) => a.id).join(', ') || 'none'}; load others with --agents)`);
  return agent;
}
