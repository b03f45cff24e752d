import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FileStore } from '../../persistence/file-store.js';
import { RedisStore } from '../../persistence/redis-store.js';
import type { SnapshotStore } from '../../persistence/store.js';
import { hasRedisServer, startRedis, type RedisServer } from '../support/redis-server.js';
import { prng, uninterrupted } from './agents.js';
import { audit, type Baselines } from './audit.js';
import { memoryLedger, openLedger } from './effects.js';
import { canSpawnWorkers, delay, freshPrefix, killAllWorkers, spawnWorker, waitUntil, type Worker } from './harness.js';
import type { EffectsSpec, StoreSpec } from './protocol.js';

/**
 * Chaos: worker processes share one store (a private redis-server with AOF
 * `appendfsync always`, or one FileStore folder) and run agents whose every
 * tool call is non-idempotent: `payer` (charge, with reconcile) and `mailer`
 * (send, without), three calls each, every effect a new fsynced file in a
 * ledger folder. Meanwhile workers are SIGKILLed every 1-3 s and replaced,
 * redis-server is SIGKILLed and restarted, and one worker is frozen with
 * SIGSTOP for longer than its lease plus the tools' timeout (so its calls'
 * windows close and other workers take its runs over), then thawed. Then the
 * survivors finish every run, and the audit counts effects per logical call
 * (run, step), not per key.
 *
 * Sized by events, not time: CHAOS_RUNS runs, CHAOS_KILLS kills (the pauses
 * between them are drawn from the seed). Replay with CHAOS_SEED.
 */
const RUNS = Number(process.env.CHAOS_RUNS ?? 300);
const KILLS = Number(process.env.CHAOS_KILLS ?? 12);
const SEED = Number(process.env.CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31));
const LEASE_MS = 1_000;
/** Runs a new worker starts: the first workers and the replacements share them all out. */
const BATCH = Math.ceil(RUNS / 6);
const AGENTS = ['payer', 'mailer'] as const;
/** A run makes no progress for this long: something is stuck (a guard against hanging, not a time budget). */
const STALL_MS = 90_000;

const servers: RedisServer[] = [];
const dirs: string[] = [];
afterAll(async () => {
  await killAllWorkers();
  for (const s of servers) await s.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

interface ChaosCase {
  readonly name: string;
  readonly workers: number;
  readonly redisRestarts: number;
  /**
   * Upper bound of each tool and model wait, in ms: a run lasts long enough to be in flight across kills (Redis
   * commits take well under a millisecond, FileStore commits an fsync each, so Redis runs wait longer in their calls).
   */
  readonly jitterMs: number;
  readonly setup: () => Promise<{ store: StoreSpec; effects: EffectsSpec; observer: () => SnapshotStore; redis: RedisServer | null }>;
}

const CASES: ChaosCase[] = [
  {
    name: 'redis',
    workers: 3,
    redisRestarts: 3,
    jitterMs: 300,
    setup: async () => {
      const server = await startRedis({ appendonly: true, appendfsync: 'always' });
      servers.push(server);
      const dir = mkdtempSync(join(tmpdir(), 'reins-chaos-'));
      dirs.push(dir);
      const prefix = freshPrefix('chaos');
      return { store: { kind: 'redis', url: server.url, prefix }, effects: { kind: 'file', dir: join(dir, 'ledger') }, observer: () => new RedisStore({ url: server.url, prefix }), redis: server };
    },
  },
  {
    name: 'file',
    workers: 2,
    redisRestarts: 0,
    jitterMs: 40,
    setup: async () => {
      const dir = mkdtempSync(join(tmpdir(), 'reins-chaos-'));
      dirs.push(dir);
      return { store: { kind: 'file', dir: join(dir, 'store') }, effects: { kind: 'file', dir: join(dir, 'ledger') }, observer: () => new FileStore({ dir: join(dir, 'store') }), redis: null };
    },
  },
];

describe.skipIf(!canSpawnWorkers() || !hasRedisServer())('chaos: kills, a frozen worker and store restarts; every side effect once', () => {
  for (const c of CASES.filter((k) => !process.env.CHAOS_CASES || process.env.CHAOS_CASES.split(',').includes(k.name))) {
    it(`${c.name}: ${RUNS} runs × 3 non-idempotent calls on ${c.workers} workers`, async () => {
      const rand = prng(SEED);
      const env = await c.setup();
      const runIds = Array.from({ length: RUNS }, (_, i) => `chaos-${c.name}-${i}`);
      const agentOf = new Map(runIds.map((id, i) => [id, AGENTS[i % AGENTS.length]!]));
      let next = 0;
      const workers: Worker[] = [];
      const spawned: Worker[] = [];
      /** Runs the test (as the client) submitted again through `call('start')`, which answers only once the run is created. */
      const resubmitted = new Set<string>();
      /** Runs whose start was acknowledged to the client: they must each end in a typed outcome. */
      const acknowledged = () =>
        new Set([
          ...spawned.flatMap((w) => w.messages.filter((m) => m.type === 'started').map((m) => (m as { runId: string }).runId)),
          ...resubmitted,
        ]);
      const spawn = async () => {
        const w = spawnWorker({ store: env.store, effects: env.effects, leaseMs: LEASE_MS, seed: Math.floor(rand() * 2 ** 31), jitterMs: c.jitterMs });
        spawned.push(w);
        workers.push(w);
        await w.ready;
        const start = runIds.slice(next, next + BATCH).map((runId) => ({ runId, agentId: agentOf.get(runId)! }));
        next += start.length;
        w.go({ start, recoverEveryMs: 500, crashAt: null });
        return w;
      };
      const pick = () => workers[Math.floor(rand() * workers.length)]!;
      const replace = async (w: Worker) => {
        workers.splice(workers.indexOf(w), 1);
        await spawn();
      };

      for (let i = 0; i < c.workers; i++) await spawn();
      const events = { kills: 0, redisRestarts: 0, frozen: 0, frozenMs: 0 };
      const restartAt = new Set(Array.from({ length: c.redisRestarts }, (_, i) => Math.floor(((i + 1) * KILLS) / (c.redisRestarts + 1))));
      const freezeAt = Math.floor(KILLS / 2);
      for (let k = 0; k < KILLS; k++) {
        await delay(1_000 + Math.floor(rand() * 2_000));
        if (k === freezeAt) {
          // Frozen with calls in flight (a worker with runs of its own still going), past its lease and the tools' timeout.
          const busy = workers.find((w) => w.messages.some((m) => m.type === 'started' && !w.outcomes.has(m.runId))) ?? pick();
          busy.signal('SIGSTOP');
          const frozenAt = Date.now();
          await delay(LEASE_MS + 4 * 400 + 1_500);
          busy.signal('SIGCONT');
          events.frozen++;
          events.frozenMs = Date.now() - frozenAt;
        }
        if (restartAt.has(k) && env.redis) {
          await env.redis.kill9();
          await delay(200 + Math.floor(rand() * 600));
          await env.redis.restart();
          events.redisRestarts++;
        }
        const victim = pick();
        await victim.kill9();
        events.kills++;
        await replace(victim);
      }
      // Every run must have been handed to a worker; replacements keep starting them.
      while (next < runIds.length) await spawn();
      // A worker killed before it got to create some of its runs never acknowledged them: the client submits those again.
      const observer = env.observer();
      for (const runId of runIds) {
        if (acknowledged().has(runId) || (await observer.load(runId)) !== null) continue;
        await pick()
          .call('start', agentOf.get(runId)!, runId)
          .then(() => resubmitted.add(runId), () => undefined);
      }

      // The survivors finish everything: wait on progress (runs ending), not on a clock.
      const unfinished = async () => {
        let n = 0;
        for (const s of await observer.list()) if (s.runId.startsWith(`chaos-${c.name}-`) && s.status !== 'done') n++;
        const listed = new Set((await observer.list()).map((s) => s.runId));
        return n + runIds.filter((id) => !listed.has(id) && acknowledged().has(id)).length;
      };
      let left = await unfinished();
      let progressAt = Date.now();
      while (left > 0) {
        await delay(500);
        const now = await unfinished();
        if (now < left) progressAt = Date.now();
        left = now;
        if (Date.now() - progressAt > STALL_MS) break;
      }

      const ledger = openLedger(env.effects);
      const effects = await ledger.effects();
      await ledger.close();
      const baselines: Baselines = {};
      for (const id of AGENTS) baselines[id] = await uninterrupted(id, { ledger: memoryLedger(), rand: prng(1) });
      const report = await audit(observer, new Set(runIds), acknowledged(), effects, baselines);
      const inDoubtBy = { payer: 0, mailer: 0 };
      for (const id of runIds) {
        const r = await observer.load(id);
        if (r?.summary.reason === 'ACTION_IN_DOUBT') inDoubtBy[agentOf.get(id)!]++;
      }
      console.log(
        `chaos[${c.name}]: seed=${SEED} runs=${report.runs} workers=${c.workers} kills=${events.kills} redisRestarts=${events.redisRestarts} frozen=${events.frozen} (${events.frozenMs} ms) ` +
          `outcomes=${JSON.stringify(report.byReason)} duplicates=${report.duplicates.length + report.doubleSteps.length} lost=${report.lost.length} stranded=${report.stranded.length} ` +
          `inDoubt=${report.inDoubt} (payer ${inDoubtBy.payer}, mailer ${inDoubtBy.mailer})`,
      );
      for (const w of workers) await w.call('close').catch(() => undefined);
      await observer.close();
      expect({ duplicates: report.duplicates, doubleSteps: report.doubleSteps, lost: report.lost, stranded: report.stranded, problems: report.problems }).toEqual({
        duplicates: [],
        doubleSteps: [],
        lost: [],
        stranded: [],
        problems: [],
      });
      // ACTION_IN_DOUBT only for the tool without reconcile, checked run by run by the audit; every run started.
      expect(inDoubtBy.payer).toBe(0);
      expect(report.runs).toBe(RUNS);
    }, 15 * 60_000);
  }
});
