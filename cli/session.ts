import { Option, type Command } from 'commander';
import type { Supervisor } from '../agents/supervisor.js';
import type { SnapshotStore } from '../persistence/store.js';
import { AGENTS_FLAG_HELP, loadAgents } from './agents-option.js';
import { openStore, STORE_FLAG_HELP, storeSpec, type StoreSpec } from './store-option.js';
import { paint, type Paint } from './render.js';

/** The flags every command that touches the store takes. */
export interface StoreFlags {
  readonly store?: string;
}

/** The flags of commands that need agent definitions. */
export interface AgentFlags {
  readonly agents?: string;
}

/** Adds `--store` to a command. */
export function withStoreFlag(cmd: Command): Command {
  return cmd.addOption(new Option('--store <store>', STORE_FLAG_HELP));
}

/** Adds `--agents` to a command. */
export function withAgentsFlag(cmd: Command): Command {
  return cmd.addOption(new Option('--agents <module>', AGENTS_FLAG_HELP));
}

/** Adds `--json` to a listing. */
export function withJsonFlag(cmd: Command): Command {
  return cmd.option('--json', 'print JSON for scripts instead of a table');
}

/** Opens the store the flags name, runs `fn`, and closes the store whatever happens. */
export async function usingStore<T>(flags: StoreFlags, write: boolean, fn: (store: SnapshotStore, spec: StoreSpec) => Promise<T>): Promise<T> {
  const spec = storeSpec(flags.store);
  const store = await openStore(spec, { write });
  try {
    return await fn(store, spec);
  } finally {
    await store.close().catch(() => undefined);
  }
}

/** A Supervisor over the store with the flags' agents, closed after `fn` (runs it hosts are handed back through their leases). */
export async function usingSupervisor<T>(store: SnapshotStore, flags: AgentFlags, fn: (supervisor: Supervisor) => Promise<T>): Promise<T> {
  const agents = await loadAgents(flags.agents);
  const { Supervisor } = await import('../agents/supervisor.js');
  const supervisor = await Supervisor.open({ store, agents });
  try {
    return await fn(supervisor);
  } finally {
    await supervisor.close({ timeoutMs: 5_000 });
  }
}

/** Colours on a terminal unless NO_COLOR is set. */
export function terminalPaint(): Paint {
  return paint(process.stdout.isTTY === true && !process.env.NO_COLOR);
}

/** Writes lines to stdout. */
export function print(lines: readonly string[] | string): void {
  process.stdout.write(`${typeof lines === 'string' ? lines : lines.join('\n')}\n`);
}

/** Writes JSON to stdout, one document. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
