import { cpSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** One folder of bundles per test process, named by its pid. */
const PARENT = join(ROOT, 'node_modules', '.cache', 'reins-test-scripts');

/** Bundles written by this process, by script path. */
const bundles = new Map<string, string>();
let folder: string | null = null;

/**
 * The node arguments that start a TypeScript script (a worker or fixture) as a child process: its bundle, built once
 * per test file. Starting `node --import tsx script.ts` costs a child about a second of CPU in tsx's loader (every
 * module resolved and loaded through its hooks); the crash and fleet tests start hundreds of children, on two cores.
 * The bundle holds the repository's code only (packages stay imports), lives under node_modules so that they resolve
 * as they do from source, and has the Redis Lua scripts beside it, where persistence/redis/scripts.ts looks first.
 */
export function scriptArgs(script: string): string[] {
  let bundle = bundles.get(script);
  if (!bundle) {
    bundle = join(bundleFolder(), `${bundles.size}-${basename(script).replace(/\.ts$/, '.mjs')}`);
    buildSync({ entryPoints: [script], outfile: bundle, bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', sourcemap: 'inline', logLevel: 'error' });
    bundles.set(script, bundle);
  }
  return ['--enable-source-maps', bundle];
}

function bundleFolder(): string {
  if (folder) return folder;
  removeStaleBundles();
  const made = join(PARENT, String(process.pid));
  mkdirSync(made, { recursive: true });
  cpSync(join(ROOT, 'persistence', 'redis', 'lua'), join(made, 'lua'), { recursive: true });
  process.once('exit', () => rmSync(made, { recursive: true, force: true }));
  folder = made;
  return made;
}

/**
 * Removes the bundles of test processes that are gone: vitest ends its workers without running their exit hooks, so
 * the global teardown (test/global-setup.ts) and the next test process clean up after them.
 */
export function removeStaleBundles(): void {
  for (const name of existsSync(PARENT) ? readdirSync(PARENT) : []) {
    if (!isAlive(Number(name))) rmSync(join(PARENT, name), { recursive: true, force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
