import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { scriptArgs } from '../support/child-script.js';
import type { FleetWorkerConfig, FleetWorkerMessage } from './protocol.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SCRIPT = fileURLToPath(new URL('./worker-process.ts', import.meta.url));

/** A fleet-test worker process, seen from the test. */
export interface FleetProcess {
  readonly child: ChildProcess;
  /** Resolves with its worker id once it takes slices. */
  readonly ready: Promise<string>;
  readonly exited: Promise<NodeJS.Signals | number | null>;
  /** Slices in hand and runs hosted, as the worker counts them. */
  holdings(): Promise<{ inHand: number; hosted: number }>;
  /** SIGKILL, and wait for the exit. */
  kill9(): Promise<void>;
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
  const replies = new Map<number, (m: Extract<FleetWorkerMessage, { type: 'holdings' }>) => void>();
  const ready = new Promise<string>((resolve, reject) => {
    child.on('message', (m: FleetWorkerMessage) => {
      if (m.type === 'ready') resolve(m.workerId);
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
    stderr: () => err,
  };
}
