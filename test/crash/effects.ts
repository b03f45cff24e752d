import { randomUUID } from 'node:crypto';
import { appendFileSync, closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Redis } from 'ioredis';
import type { EffectsSpec } from './protocol.js';

/**
 * The "external system" the crash agents' tools act on, shared by every
 * process of a test: it counts side effects by idempotency key, so a key
 * whose count is above 1 is a side effect that happened twice.
 */
export interface EffectLedger {
  /** A non-idempotent effect: every call is one more effect under `key` (a charge, an e-mail). */
  apply(key: string): Promise<void>;
  /** An idempotent effect: the external system deduplicates on `key` (a PUT by key). */
  applyOnce(key: string): Promise<void>;
  /** Whether an effect under `key` happened (what a tool's reconcile asks). */
  has(key: string): Promise<boolean>;
  /** Counts one execution of a tool body or model call under `key`, effect or not (re-runs show here). */
  executed(key: string): Promise<void>;
  /** Effects per idempotency key. */
  effects(): Promise<Map<string, number>>;
  /** Executions per key. */
  executions(): Promise<Map<string, number>>;
  close(): Promise<void>;
}

/** Opens the ledger a spec names. */
export function openLedger(spec: EffectsSpec): EffectLedger {
  return spec.kind === 'redis' ? redisLedger(spec.url, spec.key) : fileLedger(spec.dir);
}

/** Redis hashes on the test Redis: `<key>:effects` (HINCRBY per effect) and `<key>:execs`. */
function redisLedger(url: string, key: string): EffectLedger {
  // Its own connection with ioredis defaults (queue while reconnecting): the external system is not the store under test.
  const redis = new Redis(url, { lazyConnect: false });
  redis.on('error', () => undefined);
  const effects = `${key}:effects`;
  const execs = `${key}:execs`;
  const toMap = (raw: Record<string, string>) => new Map(Object.entries(raw).map(([k, v]) => [k, Number(v)]));
  return {
    apply: async (k) => void (await redis.hincrby(effects, k, 1)),
    applyOnce: async (k) => void (await redis.hsetnx(effects, k, 1)),
    has: async (k) => (await redis.hexists(effects, k)) === 1,
    executed: async (k) => void (await redis.hincrby(execs, k, 1)),
    effects: async () => toMap(await redis.hgetall(effects)),
    executions: async () => toMap(await redis.hgetall(execs)),
    close: async () => {
      redis.disconnect();
    },
  };
}

/**
 * Files in a folder: every non-idempotent effect is a new file `<key>~<uuid>`
 * created with O_EXCL, an idempotent one is `<key>~once` (O_EXCL, EEXIST means
 * already applied); executions are lines of an append-only log. Sync calls,
 * so that a crash point hooked on the store's async I/O never lands inside one.
 */
function fileLedger(dir: string): EffectLedger {
  const effectsDir = join(dir, 'effects');
  const log = join(dir, 'executions.log');
  mkdirSync(effectsDir, { recursive: true });
  const byKey = () => {
    const counts = new Map<string, number>();
    for (const name of readdirSync(effectsDir)) {
      const k = name.slice(0, name.lastIndexOf('~'));
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
    return counts;
  };
  return {
    apply: async (k) => createSynced(join(effectsDir, `${k}~${randomUUID()}`)),
    applyOnce: async (k) => {
      try {
        createSynced(join(effectsDir, `${k}~once`));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
    },
    has: async (k) => readdirSync(effectsDir).some((name) => name.startsWith(`${k}~`)),
    executed: async (k) => appendFileSync(log, `${k}\n`),
    effects: async () => byKey(),
    executions: async () => {
      const counts = new Map<string, number>();
      let text = '';
      try {
        text = readFileSync(log, 'utf8');
      } catch {
        return counts;
      }
      for (const line of text.split('\n')) if (line) counts.set(line, (counts.get(line) ?? 0) + 1);
      return counts;
    },
    close: async () => undefined,
  };
}

/** Creates an empty file with O_EXCL and fsyncs it and its folder: an effect the ledger acknowledged survives a crash of the machine too. */
function createSynced(path: string): void {
  const fd = openSync(path, 'wx');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  const dir = openSync(dirname(path), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}

/** A ledger in this process's memory, for baseline runs that must not touch a test's ledger. */
export function memoryLedger(): EffectLedger {
  const effects = new Map<string, number>();
  const execs = new Map<string, number>();
  const bump = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);
  return {
    apply: async (k) => void bump(effects, k),
    applyOnce: async (k) => void (effects.has(k) || effects.set(k, 1)),
    has: async (k) => effects.has(k),
    executed: async (k) => void bump(execs, k),
    effects: async () => new Map(effects),
    executions: async () => new Map(execs),
    close: async () => undefined,
  };
}
