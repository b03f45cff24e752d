import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll } from 'vitest';
import { scriptArgs } from '../support/child-script.js';
import { startRedis, type RedisServer } from '../support/redis-server.js';
import type { FleetWorkerConfig, FleetWorkerMessage, SliceEdge } from './protocol.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SCRIPT = fileURLToPath(new URL('./worker-process.ts', import.meta.url));

/** A fleet-test worker process, seen from the test. */
export interface FleetProcess {
  readonly child: ChildProcess;
  /** Resolves with its worker id once it takes slices. */
  readonly ready: Promise<string>;
  readonly exited: Promise<NodeJS.Signals | number | null>;
  /** Every slice start and end the worker reported, in the order they arrived. */
  readonly slices: SliceEdge[];
  /** Slices in hand and runs hosted, as the worker counts them. */
  holdings(): Promise<{ inHand: number; hosted: number }>;
  /** SIGKILL, and wait for the exit. */
  kill9(): Promise<void>;
  /** SIGTERM (finish the slices in hand, then exit), and wait for the exit. */
  term(): Promise<NodeJS.Signals | number | null>;
  stderr(): string;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/** Starts test/fleet/worker-process.ts (bundled: see scriptArgs) with `<config>`. */
export function spawnFleetWorker(config: FleetWorkerConfig): FleetProcess {
  const child = spawn(process.execPath, [...scriptArgs(SCRIPT), JSON.stringify(config)], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    env: { ...process.env, REINS_LOG_LEVEL: process.env.FLEET_LOG_LEVEL ?? 'silent' },
  });
  live.add(child);
  let err = '';
  child.stderr?.on('data', (chunk: Buffer) => (err = (err + chunk.toString()).slice(-8_000)));
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.once('exit', (code, signal) => (live.delete(child), resolve(signal ?? code))));
  const slices: SliceEdge[] = [];
  const replies = new Map<number, (m: Extract<FleetWorkerMessage, { type: 'holdings' }>) => void>();
  const ready = new Promise<string>((resolve, reject) => {
    child.on('message', (m: FleetWorkerMessage) => {
      if (m.type === 'ready') resolve(m.workerId);
      if (m.type === 'slice') slices.push(m);
      if (m.type === 'holdings') replies.get(m.id)?.(m), replies.delete(m.id);
    });
    void exited.then((how) => reject(new Error(`fleet worker exited (${how}) before it was ready:\n${err}`)));
  });
  ready.catch(() => undefined);
  let next = 1;
  return {
    child,
    ready,
    exited,
    slices,
    holdings: () =>
      new Promise((resolve) => {
        const id = next++;
        replies.set(id, (m) => resolve({ inHand: m.inHand, hosted: m.hosted }));
        child.send({ type: 'holdings', id });
      }),
    kill9: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
    term: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
    stderr: () => err,
  };
}

/**
 * The private redis-server, scratch folder and worker processes of one test
 * file: started before its tests, all gone (SIGKILLed, stopped, deleted)
 * after them. `spawn(prefix)` starts one more worker on that key prefix.
 */
export function processFleet(tag: string, worker: Omit<FleetWorkerConfig, 'url' | 'prefix' | 'ledgerDir'>) {
  let redis: RedisServer | undefined;
  let dir = '';
  const workers: FleetProcess[] = [];
  beforeAll(async () => {
    redis = await startRedis();
    dir = mkdtempSync(join(tmpdir(), `reins-fleet-${tag}-`));
  });
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.kill9()));
    await redis?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  const ledgerDir = (prefix: string) => join(dir, prefix);
  return {
    get url(): string {
      return redis!.url;
    },
    /** Where the workers of `prefix` (and the test's client) write their effect ledgers. */
    ledgerDir,
    workers,
    spawn(prefix: string): FleetProcess {
      const w = spawnFleetWorker({ ...worker, url: redis!.url, prefix, ledgerDir: ledgerDir(prefix) });
      workers.push(w);
      return w;
    },
    /** Workers not killed (yet). */
    alive: () => workers.filter((w) => w.child.exitCode === null && w.child.signalCode === null),
  };
}
