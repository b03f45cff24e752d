/**
 * Shared rate limits: a tool limited per resource (here, per recipient
 * domain), a token bucket in the store shared by every run and worker, with a
 * concurrency cap; a call over the limit waits (a durable delayed transition
 * that counts against the run's deadline) instead of failing.
 *
 * The case from the issue: an email-sending tool limited to 10 messages per
 * window per domain, across 20 parallel runs in two processes on one Redis,
 * sends at most 10 per window per domain, and nothing twice. The window is
 * 1,000 ms instead of a minute to keep the test short; the semantics are the same.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { localRateLimiter, storeRateLimiter } from '../../agents/rate-limits.js';
import { rateKeys } from '../../persistence/redis/keys.js';
import { Supervisor } from '../../agents/supervisor.js';
import { TerminalOutcome } from '../../index.js';
import type { SnapshotStore } from '../../persistence/store.js';
import { STORE_CASES } from '../durable/stores.js';
import { faulty } from '../support/faulty-store.js';
import { leaseExpired, until } from '../support/tools.js';
import { busiestWindow, mailer, type Send } from './mailer.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const WORKER = fileURLToPath(new URL('./worker.ts', import.meta.url));

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** Starts a worker process and collects what it reports. */
function startWorker(config: object) {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER, JSON.stringify(config)], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4_000)));
  const outcomes: unknown[] = [];
  const ready = new Promise<void>((resolve, reject) => {
    child.on('message', (m: { type: string; outcome?: unknown }) => {
      if (m.type === 'ready') resolve();
      if (m.type === 'outcome') outcomes.push(m.outcome);
    });
    child.once('exit', (code) => reject(new Error(`worker exited (${code}) before it was ready:\n${stderr}`)));
  });
  ready.catch(() => undefined);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  cleanups.push(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  return { child, ready, exited, outcomes, stderr: () => stderr };
}

describe('a rate limit shared by two processes on one Redis', () => {
  it('20 parallel runs in two workers send at most 10 per window per domain, and none twice', async () => {
    const url = inject('redisUrl');
    const prefix = `rl${process.pid}-${Date.now().toString(36)}`;
    const limit = 10;
    const perMs = 1_000;
    const domains = ['a.example', 'b.example', 'c.example'];
    const runs = Array.from({ length: 20 }, (_, i) => ({ runId: `mail-${i}`, to: domains.map((d) => `user${i}@${d}`) }));
    // Every rate-limit request as Redis executes it, on the server's clock (MONITOR): the grants' own times.
    const monitorClient = new Redis(url);
    const monitor = await monitorClient.monitor();
    cleanups.push(() => void monitor.disconnect());
    const requests: Array<{ at: number; tatKey: string; holder: string }> = [];
    monitor.on('monitor', (time: string, args: string[]) => {
      // EVALSHA sha (or EVAL script) 2 <tat key> <holders key> limit perMs burst concurrency ttl holder (rate-acquire.lua)
      if (!['eval', 'evalsha'].includes(args[0]?.toLowerCase() ?? '') || args[2] !== '2' || !args[3]?.startsWith(`${prefix}:{rate:`) || !args[3].endsWith(':tat')) return;
      const [sec, micro] = time.split('.');
      requests.push({ at: Number(sec) * 1000 + Math.floor(Number(micro ?? 0) / 1000), tatKey: args[3], holder: args.at(-1)! });
    });
    const workers = [0, 1].map((w) => startWorker({ url, prefix, workerId: `mailer-${w}`, runs: runs.filter((_, i) => i % 2 === w), limit, perMs }));
    await Promise.all(workers.map((w) => w.ready));
    for (const w of workers) w.child.send({ type: 'go' });
    const codes = await Promise.all(workers.map((w) => w.exited));
    expect(codes, workers.map((w) => w.stderr()).join('\n')).toEqual([0, 0]);

    const outcomes = workers.flatMap((w) => w.outcomes).map((o) => TerminalOutcome.parse(o));
    expect(outcomes).toHaveLength(20);
    expect(outcomes.every((o) => o.reason === 'COMPLETED')).toBe(true);

    const redis = new Redis(url);
    cleanups.push(() => void redis.disconnect());
    const log = (await redis.lrange(`${prefix}:test:log`, 0, -1)).map((line) => JSON.parse(line) as Send);
    expect(Number((await redis.get(`${prefix}:test:duplicates`)) ?? 0)).toBe(0);
    expect(log).toHaveLength(60);
    expect(new Set(log.map((s) => s.key)).size).toBe(60);

    const grants = (await redis.lrange(`${prefix}:test:grants`, 0, -1)).map((line) => JSON.parse(line) as { key: string; holder: string });
    const report: string[] = [];
    for (const domain of domains) {
      const times = log.filter((s) => s.domain === domain).map((s) => s.at);
      // A granted call's grant is its last request to the bucket (it asked, was refused and waited, asked again …).
      const tatKey = rateKeys(`send_email:${domain}`, prefix).tat;
      const granted = grants
        .filter((g) => g.key === `send_email:${domain}`)
        .map((g) => requests.filter((r) => r.tatKey === tatKey && r.holder === g.holder).at(-1)!.at);
      expect(times).toHaveLength(20);
      expect(granted).toHaveLength(20);
      const span = Math.max(...times) - Math.min(...times);
      // The grants, on the server's clock in whole ms as the script reads it (less 1 ms for MONITOR's stamp, taken
      // just before the script reads TIME): no window of perMs holds more than the limit.
      expect(busiestWindow(granted, perMs - 1)).toBeLessThanOrEqual(limit);
      // The sends: the token is taken right before the call, after its checkpoint writes, so a send starts within
      // a few ms of its grant; 25 ms of that scheduling jitter is allowed here (the busiest exact window is printed).
      expect(busiestWindow(times, perMs - 25)).toBeLessThanOrEqual(limit);
      // The limit did hold the runs back: 20 sends at 10 per second take at least 1.9 s.
      expect(span).toBeGreaterThanOrEqual(((20 - 1) * perMs) / limit - 25);
      const delays = log
        .filter((x) => x.domain === domain)
        .map((x) => x.at - requests.filter((r) => r.tatKey === tatKey && r.holder === x.key).at(-1)!.at)
        .sort((a, b) => a - b);
      report.push(
        `${domain}: 20 sends over ${span} ms; busiest ${perMs} ms window: ${busiestWindow(granted, perMs)} grants, ${busiestWindow(times, perMs)} sends; ` +
          `grant to send: median ${delays[10]} ms, max ${delays.at(-1)} ms`,
      );
    }
    console.log(`two workers, 20 runs, ${limit} per ${perMs} ms per domain:\n  ${report.join('\n  ')}`);
  }, 60_000);
});

for (const storeCase of STORE_CASES) {
  describe(`shared rate limits on ${storeCase.name}`, () => {
    async function setup() {
      const s = await storeCase.create();
      cleanups.push(s.cleanup);
      return s;
    }
    async function open(store: SnapshotStore, agent: ReturnType<typeof mailer>['agent'], workerId: string) {
      const supervisor = await Supervisor.open({ store, agents: [agent], workerId, leaseMs: 300 });
      cleanups.push(() => supervisor.close({ timeoutMs: 200 }));
      return supervisor;
    }

    it('a concurrency cap keeps calls in flight per key at the cap, and slots are given back as calls settle', async () => {
      const { open: handle } = await setup();
      const store = await handle();
      const m = mailer({ limit: 1_000, perMs: 1_000, concurrency: 2, sendMs: 40, rateLimiter: storeRateLimiter(store) });
      const supervisor = await open(store, m.agent, 'w1');
      const runs = await Promise.all(
        Array.from({ length: 8 }, (_, i) => supervisor.start('mailer', { runId: `cap-${storeCase.name}-${i}`, input: { to: [`u${i}@same.example`, `v${i}@same.example`] } })),
      );
      const outcomes = await Promise.all(runs.map((r) => r.outcome));
      expect(outcomes.map((o) => o.reason)).toEqual(Array(8).fill('COMPLETED'));
      expect(m.sends).toHaveLength(16);
      expect(m.inFlight.max).toBe(2);
    }, 30_000);

    it('the wait counts against the run deadline: a run held back past it ends TIMEOUT in rateWaiting', async () => {
      const { open: handle } = await setup();
      const store = await handle();
      const m = mailer({ limit: 1, perMs: 60_000, maxWallClockMs: 400, rateLimiter: storeRateLimiter(store) });
      const supervisor = await open(store, m.agent, 'w1');
      const first = await supervisor.start('mailer', { runId: `dl-a-${storeCase.name}`, input: { to: ['a@slow.example'] } });
      expect((await first.outcome).reason).toBe('COMPLETED');
      const second = await supervisor.start('mailer', { runId: `dl-b-${storeCase.name}`, input: { to: ['b@slow.example'] } });
      expect(await second.outcome).toMatchObject({ reason: 'TIMEOUT', state: 'rateWaiting', tool: 'send_email', deadlineMs: 400 });
      expect(m.sends).toHaveLength(1);
    });

    it('PAUSE while waiting for the limit pauses at once; RESUME asks again', async () => {
      const { open: handle } = await setup();
      const store = await handle();
      const m = mailer({ limit: 1, perMs: 600, rateLimiter: storeRateLimiter(store) });
      const supervisor = await open(store, m.agent, 'w1');
      const run = await supervisor.start('mailer', { runId: `pause-${storeCase.name}`, input: { to: ['a@p.example', 'b@p.example'] } });
      await until(() => run.status().state === 'rateWaiting', 5_000);
      run.pause('ops', 'hold the mail');
      expect(run.status().state).toBe('paused');
      run.resume('ops');
      expect((await run.outcome).reason).toBe('COMPLETED');
      expect(m.sends).toHaveLength(2);
      // Send times include each call's journal writes after its grant (tens of ms on FileStore).
      expect(m.sends[1]!.at - m.sends[0]!.at).toBeGreaterThanOrEqual(600 - 100);
    });

    it('a run restored while waiting for the limit asks again at its due time, not at once and not never', async () => {
      const { open: handle } = await setup();
      const base = await handle();
      const fault = faulty(base);
      const perMs = 900;
      const m = mailer({ limit: 1, perMs, rateLimiter: storeRateLimiter(base) });
      const first = await open(fault.store, m.agent, 'w1');
      const run = await first.start('mailer', { runId: `restore-${storeCase.name}`, input: { to: ['a@r.example', 'b@r.example'] } });
      await until(async () => (await base.load(run.runId))?.summary.state === 'rateWaiting', 5_000);
      const stored = (await base.load(run.runId))!.snapshot as { context: { rateRetryAt: number } };
      fault.set('frozen');
      await leaseExpired(base, run.runId);
      const second = await open(base, m.agent, 'w2');
      const [restored] = await second.recover();
      expect(restored?.status().state).toBe('rateWaiting');
      expect((await restored!.outcome).reason).toBe('COMPLETED');
      expect(m.sends).toHaveLength(2);
      expect(m.sends[1]!.at).toBeGreaterThanOrEqual(stored.context.rateRetryAt - 2);
    }, 30_000);
  });
}

describe('rate limits without a store', () => {
  it('runs in one process share the per-process limiter', async () => {
    const m = mailer({ limit: 5, perMs: 500, rateLimiter: localRateLimiter() });
    const outcomes = await Promise.all(Array.from({ length: 4 }, (_, i) => m.agent.run({ runId: `local-${i}`, input: { to: [`u${i}@one.example`] } })));
    expect(outcomes.map((o) => o.reason)).toEqual(Array(4).fill('COMPLETED'));
    const times = m.sends.map((s) => s.at).sort((a, b) => a - b);
    // 5 per 500 ms, paced evenly: 100 ms apart.
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(95);
  });
});
