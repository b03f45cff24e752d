import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem, type } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
const gcFn = runInNewContext('gc') as (() => void) | undefined;

/** A full collection between runs, so that one row's garbage is not collected on the next row's time. */
export function collect(): void {
  gcFn?.();
  gcFn?.();
}

function version(cmd: string, args: string[], pattern: RegExp): string | null {
  try {
    return pattern.exec(execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }))?.[1] ?? null;
  } catch {
    return null;
  }
}

function packageVersion(path: string): string | null {
  try {
    return (JSON.parse(readFileSync(new URL(path, import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return null;
  }
}

/** What the table is quoted with: date, machine, and the versions of everything measured. */
export function machineInfo(): Record<string, string | number | null> {
  const cpu = cpus();
  return {
    date: new Date().toISOString(),
    cpu: cpu[0]?.model.trim() ?? '?',
    cores: cpu.length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    os: `${type()} ${release()}`,
    loadAtStart: loadavg()[0]!.toFixed(1),
    node: process.version,
    xstate: packageVersion('../../node_modules/xstate/package.json'),
    ioredis: packageVersion('../../node_modules/ioredis/package.json'),
    redisServer: version('redis-server', ['--version'], /v=(\S+)/),
    langgraph: packageVersion('../peers/node_modules/@langchain/langgraph/package.json'),
    betterSqlite3: packageVersion('../peers/node_modules/better-sqlite3/package.json'),
    reinsCommit: version('git', ['rev-parse', '--short', 'HEAD'], /(\S+)/),
    reinsTreeDirty: version('git', ['status', '--porcelain', '--', 'agents', 'machines', 'guards', 'persistence'], /([\s\S]+)/) ? 'yes' : 'no',
  };
}
