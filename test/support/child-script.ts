import { cpSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Bundles written by this process, by script path; removed when it exits. */
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
  const parent = join(ROOT, 'node_modules', '.cache', 'reins-test-scripts');
  // Folders of test processes that died before their exit hook ran (a timed-out file's worker is killed).
  for (const name of existsSync(parent) ? readdirSync(parent) : []) {
    if (!isAlive(Number(name))) rmSync(join(parent, name), { recursive: true, force: true });
  }
  const made = join(parent, String(process.pid));
  mkdirSync(made, { recursive: true });
  cpSync(join(ROOT, 'persistence', 'redis', 'lua'), join(made, 'lua'), { recursive: true });
  process.once('exit', () => rmSync(made, { recursive: true, force: true }));
  folder = made;
  return made;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
