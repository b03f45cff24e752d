import { afterAll, describe, expect, inject, it } from 'vitest';
import { Supervisor } from '../../agents/supervisor.js';
import { TerminalOutcome } from '../../machines/outcome.js';
import { RedisStore } from '../../persistence/redis-store.js';
import { hasRedisServer, startRedis, type RedisServer } from '../support/redis-server.js';
import { buildAgents, LONG_TURNS, prng, uninterrupted } from './agents.js';
import { memoryLedger, openLedger } from './effects.js';
import { canSpawnWorkers, delay, freshPrefix, killAllWorkers, spawnWorker, waitUntil } from './harness.js';
import type { WorkerMessage } from './protocol.js';

/**
 * A private redis-server with AOF and `appendfsync always` is SIGKILLed twice
 * under a worker process with runs in flight: once briefly, once for longer
 * than the run writer's stall threshold. The runs must go on by themselves
 * once Redis is back, every acknowledged write must still be there, every
 * run must end as an uninterrupted one does, and no effect may happen twice.
 * The tools' ledger lives on the suite's other Redis: the external system
 * stays up while the store goes down.
 */
const RUNS = 12;
/** Snapshot saves go out this much later (a slow link), so that some runs have one in flight when Redis dies: their writer stalls and pauses them. */
const SAVE_LATENCY_MS = 40;
const SHORT_OUTAGE_MS = 400;
/** Longer than the run writer needs to give up and pause a run (WRITE_RETRY: three failed attempts; each waits for a failed reconnect). */
const LONG_OUTAGE_MS = 3_000;
const WRITE_RETRY = { baseDelayMs: 20, maxDelayMs: 200, stallAfter: 3 };
/** Tool calls of the `long` agent that have a side effect (every one but the lookups). */
const EFFECT_CALLS = Array.from({ length: LONG_TURNS }, (_, i) => i % 4 !== 0).filter(Boolean).length;

let server: RedisServer | null = null;
afterAll(async () => {
  await killAllWorkers();
  await server?.stop();
});

type Write = Extract<WorkerMessage, { type: 'write' }>;

function reasons(outcomes: ReadonlyMap<string, unknown>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const o of outcomes.values()) {
    const reason = (o as { reason: string }).reason;
    out[reason] = (out[reason] ?? 0) + 1;
  }
  return out;
}

describe.skipIf(!hasRedisServer() || !canSpawnWorkers())('Redis restart mid-run (AOF, appendfsync always)', () => {
  it('runs go on after redis-server is SIGKILLed and restarted; nothing acknowledged is lost; no effect twice', async () => {
    server = await startRedis({ appendonly: true, appendfsync: 'always' });
    const prefix = freshPrefix('rr');
    const storeSpec = { kind: 'redis' as const, url: server.url, prefix };
    const effects = { kind: 'redis' as const, url: inject('redisUrl'), key: `${prefix}:fx` };
    const worker = spawnWorker({ store: storeSpec, effects, leaseMs: 10_000, seed: 7, jitterMs: 120, reportWrites: true, saveLatencyMs: SAVE_LATENCY_MS, writeRetry: WRITE_RETRY });
    await worker.ready;
    const observer = new RedisStore({ url: server.url, prefix });
    const runIds = Array.from({ length: RUNS }, (_, i) => `restart-${i}`);
    for (const runId of runIds) await worker.call('start', 'long', runId);

    const steps = async () => Promise.all(runIds.map(async (id) => (await observer.load(id))?.summary.step ?? 0));
    /** Writes that carried a record (saves, and commits with one). */
    const saves = () => worker.messages.filter((m): m is Write => m.type === 'write' && m.version !== null);
    /** Kills Redis; after the restart, every save acknowledged before the kill must be in the store. */
    const outage = async (ms: number) => {
      await server!.kill9();
      const killedAt = Date.now();
      await delay(ms);
      await server!.restart();
      const acked = new Map<string, number>();
      for (const w of saves()) if (w.ok && w.doneAt < killedAt) acked.set(w.runId, Math.max(acked.get(w.runId) ?? 0, w.version ?? 0));
      const stored = new Map<string, number>();
      for (const runId of runIds) stored.set(runId, (await observer.load(runId))?.version ?? 0);
      const lostWrites = [...acked].filter(([runId, v]) => (stored.get(runId) ?? 0) < v).map(([runId, v]) => `${runId}: acknowledged v${v}, stored v${stored.get(runId)}`);
      return { killedAt, lostWrites };
    };

    // Runs in flight: a few transitions stored for each.
    await waitUntil(async () => (await steps()).every((s) => s >= 3), 10_000, 'every run to be under way');
    const first = await outage(SHORT_OUTAGE_MS);
    const before = await steps();
    await waitUntil(async () => (await steps().catch(() => before)).some((s, i) => s > before[i]!), 10_000, 'progress after the short outage');
    const second = await outage(LONG_OUTAGE_MS);

    // Without anyone resuming anything, every run must end.
    const ended = () => runIds.every((id) => worker.outcomes.has(id));
    const selfHealed = await waitUntil(ended, 8_000, 'every run to end after the store came back').then(
      () => true,
      () => false,
    );
    const stuck: string[] = [];
    if (!selfHealed) {
      // Record which runs waited for an operator, then be that operator so the rest can be checked.
      for (const id of runIds) {
        if (worker.outcomes.has(id)) continue;
        const r = await observer.load(id);
        stuck.push(`${id}: ${r?.summary.status} in ${r?.summary.state}`);
      }
      const operator = await Supervisor.open({ store: observer, agents: buildAgents({ ledger: memoryLedger(), rand: prng(1) }), leaseMs: 10_000, workerId: 'operator' });
      for (const id of runIds) if (!worker.outcomes.has(id)) await operator.resume(id, 'operator');
      await waitUntil(ended, 15_000, 'every run to end after an operator resumed them');
      await operator.close({ timeoutMs: 1_000 });
    }

    // ---- the audit ----
    const baseline = await uninterrupted('long', { ledger: memoryLedger(), rand: () => 0 });
    const ledger = openLedger(effects);
    const counts = await ledger.effects();
    await ledger.close();
    const problems: string[] = [];
    for (const runId of runIds) {
      const record = await observer.load(runId);
      const parsed = TerminalOutcome.safeParse(record?.outcome);
      if (!record || record.summary.status !== 'done' || !parsed.success) {
        problems.push(`${runId}: not ended typed (${record?.summary.status})`);
        continue;
      }
      const o = parsed.data;
      if (o.reason !== 'COMPLETED' || JSON.stringify(o.result) !== JSON.stringify(baseline.result) || o.turns !== baseline.turns) {
        problems.push(`${runId}: ${JSON.stringify(o).slice(0, 300)}`);
      }
      const effectSteps = [...counts].filter(([k]) => k.startsWith(`${runId}:`));
      if (effectSteps.length !== EFFECT_CALLS || effectSteps.some(([, n]) => n !== 1)) problems.push(`${runId}: effects ${JSON.stringify(effectSteps)}`);
      // Versions were acknowledged once each, in order: a lost write would be written (and acknowledged) again.
      const versions = saves().filter((w) => w.runId === runId && w.ok).map((w) => w.version ?? 0);
      if (new Set(versions).size !== versions.length) problems.push(`${runId}: a version was acknowledged twice: ${versions.join(',')}`);
      if (Math.max(...versions) !== record.version) problems.push(`${runId}: last acknowledged v${Math.max(...versions)}, stored v${record.version}`);
    }
    const duplicates = [...counts].filter(([, n]) => n > 1);
    const failed: Record<string, number> = {};
    for (const m of worker.messages) if (m.type === 'write' && !m.ok) failed[m.op] = (failed[m.op] ?? 0) + 1;
    let pausedByOutage = 0;
    for (const runId of runIds) if ((await observer.traceRead(runId)).some((e) => e.kind === 'transition' && e.to === 'paused')) pausedByOutage++;
    console.log(
      `[crash] redis restart: runs=${RUNS} outages=${SHORT_OUTAGE_MS}ms+${LONG_OUTAGE_MS}ms failed-store-calls=${JSON.stringify(failed)} paused-by-outage=${pausedByOutage} ` +
        `lost-acknowledged=${first.lostWrites.length + second.lostWrites.length} duplicates=${duplicates.length} ` +
        `reasons=${JSON.stringify(reasons(worker.outcomes))} ` +
        `needed-operator-resume=${stuck.length}`,
    );
    await worker.call('close');
    await observer.close();

    expect(first.lostWrites, 'acknowledged writes lost in the short outage').toEqual([]);
    expect(second.lostWrites, 'acknowledged writes lost in the long outage').toEqual([]);
    expect(duplicates).toEqual([]);
    expect(problems).toEqual([]);
    expect(stuck, 'runs paused by the outage did not go on once the store was back').toEqual([]);
  }, 90_000);
});
