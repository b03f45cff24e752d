import { existsSync, readFileSync } from 'node:fs';
import type { Cluster, Redis } from 'ioredis';

/**
 * The Lua scripts, one file per multi-key operation in ./lua/, named for
 * what it does (the BullMQ way). Each is registered on the client with
 * ioredis `defineCommand`, which sends EVALSHA and falls back to EVAL when
 * the server does not have the script cached (after a restart or failover).
 */
export const SCRIPT_NAMES = [
  'create-run',
  'commit-run',
  'acquire-lease',
  'renew-lease',
  'release-lease',
  'trace-append',
  'send-command',
  'peek-commands',
  'quarantine-run',
  'read-summary',
  'repair-summary',
  'delete-run',
  'retire-run',
  'index-run',
  'unindex-run',
  'approval-put',
  'approval-cas',
  'rate-acquire',
  'rate-release',
] as const;
export type ScriptName = (typeof SCRIPT_NAMES)[number];

/**
 * Where the .lua files are. tsc does not copy them, so `npm run build` must
 * copy persistence/redis/lua/ to dist/persistence/redis/lua/; until it does,
 * code running from dist/ inside this repository falls back to the source
 * folder (three levels up from dist/persistence/redis/).
 */
const CANDIDATE_DIRS = [new URL('./lua/', import.meta.url), new URL('../../../persistence/redis/lua/', import.meta.url)];

let cache: ReadonlyMap<ScriptName, string> | null = null;

/** The source of every script, read once per process. */
export function loadScripts(): ReadonlyMap<ScriptName, string> {
  if (cache) return cache;
  const dir = CANDIDATE_DIRS.find((d) => existsSync(new URL('create-run.lua', d)));
  if (!dir) {
    throw new Error(
      `reins: the Redis Lua scripts are missing (looked in ${CANDIDATE_DIRS.map((d) => d.pathname).join(' and ')}); ` +
        'the build must copy persistence/redis/lua/ next to the compiled redis-store',
    );
  }
  cache = new Map(SCRIPT_NAMES.map((name) => [name, readFileSync(new URL(`${name}.lua`, dir), 'utf8')]));
  return cache;
}

/** The ioredis command name a script is registered under: `commit-run` -> `reinsCommitRun`. */
export function commandName(name: ScriptName): string {
  return COMMAND_NAMES.get(name)!;
}

/** Built once: a script call is on every turn's path. */
const COMMAND_NAMES: ReadonlyMap<ScriptName, string> = new Map(
  SCRIPT_NAMES.map((name) => [name, `reins${name.replace(/(^|-)([a-z])/g, (_, __: string, c: string) => c.toUpperCase())}`]),
);

/** Registers every script on the client (keys are counted per call, so one definition serves any number of keys). */
export function defineScripts(redis: Redis | Cluster): void {
  for (const [name, lua] of loadScripts()) redis.defineCommand(commandName(name), { lua });
}

type ScriptCommand = (numKeys: number, ...keysAndArgs: (string | number)[]) => Promise<unknown>;

/** Runs a registered script with its keys and arguments. */
export function runScript(redis: Redis | Cluster, name: ScriptName, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
  const command = (redis as unknown as Record<string, ScriptCommand | undefined>)[commandName(name)];
  if (!command) throw new Error(`reins: script ${name} is not defined on this client`);
  return command.call(redis, keys.length, ...keys, ...args);
}
