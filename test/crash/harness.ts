import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inject } from 'vitest';
import { RedisStore } from '../../persistence/redis-store.js';
import { scriptArgs } from '../support/child-script.js';
import type { SnapshotStore } from '../../persistence/store.js';
import type { CallMessage, EffectsSpec, GoMessage, StoreSpec, WorkerConfig, WorkerMessage } from './protocol.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const WORKER = fileURLToPath(new URL('./worker.ts', import.meta.url));

/** Whether the workers can be started the way these tests start them. */
export function canSpawnWorkers(): boolean {
  return existsSync(fileURLToPath(new URL('../../node_modules/.bin/tsx', import.meta.url)));
}

/** A worker child process, seen from the test. */
export interface Worker {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Resolves with the worker id once the Supervisor is open. */
  readonly ready: Promise<string>;
  /** Every message received so far, in order. */
  readonly messages: WorkerMessage[];
  /** Terminal outcomes the worker reported, by run id. */
  readonly outcomes: Map<string, unknown>;
  /** Resolves when the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  alive(): boolean;
  /** The last few KB of the worker's stderr, for failure messages. */
  stderr(): string;
  go(message: Omit<GoMessage, 'type'>): void;
  /** Calls a Supervisor method in the worker (see worker.ts). */
  call<T = unknown>(method: CallMessage['method'], ...args: unknown[]): Promise<T>;
  /** Resolves with the first message (already received or to come) that matches. */
  waitFor<M extends WorkerMessage>(match: (m: WorkerMessage) => m is M, ms?: number, what?: string): Promise<M>;
  /** Sends a signal if the process still runs. */
  signal(signal: NodeJS.Signals): void;
  /** SIGKILL and wait for the exit. */
  kill9(): Promise<void>;
}

const live = new Set<Worker>();

/** Starts test/crash/worker.ts (bundled: see scriptArgs) with `<config>`. */
export function spawnWorker(config: WorkerConfig): Worker {
  const child = spawn(process.execPath, [...scriptArgs(WORKER), JSON.stringify(config)], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    env: { ...process.env, REINS_LOG_LEVEL: process.env.CRASH_LOG_LEVEL ?? 'silent' },
  });
  let err = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    err = (err + chunk.toString()).slice(-8_000);
    if (process.env.CRASH_VERBOSE) process.stderr.write(`[worker ${child.pid}] ${chunk.toString()}`);
  });
  const messages: WorkerMessage[] = [];
  const outcomes = new Map<string, unknown>();
  const waiters = new Set<(m: WorkerMessage) => void>();
  const replies = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let exitedWith: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      exitedWith = { code, signal };
      live.delete(worker);
      for (const r of replies.values()) r.reject(new Error(`worker ${child.pid} exited (${signal ?? code}) before replying`));
      replies.clear();
      resolve(exitedWith);
    }),
  );
  child.on('error', () => undefined);
  const ready = new Promise<string>((resolve, reject) => {
    child.on('message', (m: WorkerMessage) => {
      messages.push(m);
      if (m.type === 'ready') resolve(m.workerId);
      if (m.type === 'outcome') outcomes.set(m.runId, m.outcome);
      if (m.type === 'reply') {
        const r = replies.get(m.id);
        replies.delete(m.id);
        if (m.ok) r?.resolve(m.value);
        else r?.reject(new Error(m.error));
      }
      for (const w of [...waiters]) w(m);
    });
    void exited.then(({ code, signal }) => reject(new Error(`worker exited (${signal ?? code}) before it was ready:\n${err}`)));
  });
  ready.catch(() => undefined);
  let nextId = 1;
  const worker: Worker = {
    child,
    pid: child.pid ?? -1,
    ready,
    messages,
    outcomes,
    exited,
    alive: () => exitedWith === null,
    stderr: () => err,
    go: (message) => child.send({ type: 'go', ...message } satisfies GoMessage),
    call: <T>(method: CallMessage['method'], ...args: unknown[]) =>
      new Promise<T>((resolve, reject) => {
        if (exitedWith) return reject(new Error(`worker ${child.pid} has exited`));
        const id = nextId++;
        replies.set(id, { resolve: resolve as (v: unknown) => void, reject });
        child.send({ type: 'call', id, method, args } satisfies CallMessage);
      }),
    waitFor: <M extends WorkerMessage>(match: (m: WorkerMessage) => m is M, ms = 10_000, what = 'a message') =>
      new Promise<M>((resolve, reject) => {
        const found = messages.find(match);
        if (found) return resolve(found);
        const timer = setTimeout(() => {
          waiters.delete(onMessage);
          reject(new Error(`worker ${child.pid}: no ${what} within ${ms} ms\n${err}`));
        }, ms);
        const onMessage = (m: WorkerMessage) => {
          if (!match(m)) return;
          clearTimeout(timer);
          waiters.delete(onMessage);
          resolve(m);
        };
        waiters.add(onMessage);
      }),
    signal: (signal) => {
      if (exitedWith === null) child.kill(signal);
    },
    kill9: async () => {
      if (exitedWith === null) child.kill('SIGKILL');
      await exited;
    },
  };
  live.add(worker);
  return worker;
}

/** SIGKILLs every worker still running (SIGKILL ends a stopped process too) and waits for them. */
export async function killAllWorkers(): Promise<void> {
  await Promise.all([...live].map((w) => w.kill9()));
}

// A test process that dies must not leave workers behind (they also exit when their IPC channel closes).
process.once('exit', () => {
  for (const w of live) w.child.kill('SIGKILL');
});

/** A store handle in the test process on the same data a worker uses. */
export async function openStore(spec: StoreSpec): Promise<SnapshotStore> {
  if (spec.kind === 'redis') return new RedisStore({ url: spec.url, prefix: spec.prefix });
  const { FileStore } = await import('../../persistence/file-store.js');
  return new FileStore({ dir: spec.dir });
}

/** A fresh key prefix, so that tests sharing the global redis-server never meet. */
export function freshPrefix(tag: string): string {
  return `crash-${tag}-${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
}

/** Polls `check` until it holds; throws `what` after `ms`. */
export async function waitUntil(check: () => boolean | Promise<boolean>, ms: number, what: string, everyMs = 10): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Type guards for waitFor. */
export const is = {
  outcome: (runId: string) => (m: WorkerMessage): m is Extract<WorkerMessage, { type: 'outcome' }> => m.type === 'outcome' && m.runId === runId,
};

/** A store (and effect ledger) that the worker processes of one test share. */
export interface StoreCase {
  readonly name: 'RedisStore' | 'FileStore';
  readonly make: () => { store: StoreSpec; effects: EffectsSpec };
}

const tempDirs: string[] = [];

/** The stores the crash tests run against: RedisStore on the suite's redis-server (own prefix), FileStore in a temp folder. */
export const STORE_CASES: readonly StoreCase[] = [
  {
    name: 'RedisStore',
    make: () => {
      const url = inject('redisUrl');
      const prefix = freshPrefix('r');
      return { store: { kind: 'redis', url, prefix }, effects: { kind: 'redis', url, key: `${prefix}:fx` } };
    },
  },
  {
    name: 'FileStore',
    make: () => {
      const dir = mkdtempSync(join(tmpdir(), 'reins-crash-'));
      tempDirs.push(dir);
      return { store: { kind: 'file', dir: join(dir, 'store') }, effects: { kind: 'file', dir: join(dir, 'effects') } };
    },
  },
];

/** Kills every worker and removes the temp folders of STORE_CASES (call from afterAll). */
export async function cleanUp(): Promise<void> {
  await killAllWorkers();
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}
