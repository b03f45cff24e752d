import { loadavg } from 'node:os';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { SliceQueue } from '../../agents/fleet/slice-queue.js';
import { Supervisor } from '../../agents/supervisor.js';
import { prng } from '../crash/agents.js';
import { canSpawnWorkers, delay, waitUntil } from '../crash/harness.js';
import { indexKeys } from '../../persistence/redis/keys.js';
import { RedisStore } from '../../persistence/redis-store.js';
import { fleetAgents, readLedger, SyncedLedger } from './agents.js';
import { auditTurns } from './audit.js';
import { processFleet } from './processes.js';

/**
 * The fleet under SIGKILL: runs submitted to a queue on one private Redis,
 * taken in slices by worker processes that the test SIGKILLs at random
 * points (each kill is triggered by progress, another share of the runs
 * ending, and lands a random few hundred milliseconds later), replaced at
 * once. Every run must end in its typed final state, every side effect
 * happen once per logical call (an fsynced ledger), and no run be written
 * by two hosts at once (each commit carries its lease token).
 *
 * Sizes (the defaults are the committed figures): FLEET_RUNS, FLEET_WORKERS,
 * FLEET_KILLS, FLEET_APPROVALS, FLEET_SLICE_TURNS; FLEET_SEED replays the
 * kill plan.
 */
const RUNS = Number(process.env.FLEET_RUNS ?? 2_000);
const WORKERS = Number(process.env.FLEET_WORKERS ?? 3);
const KILLS = Number(process.env.FLEET_KILLS ?? 12);
const APPROVALS = Number(process.env.FLEET_APPROVALS ?? 1_000);
const SLICE_TURNS = Number(process.env.FLEET_SLICE_TURNS ?? 8);
const SEED = Number(process.env.FLEET_SEED ?? Math.floor(Math.random() * 2 ** 31));
const CONCURRENCY = 16;
const LEASE_MS = 3_000;
/** Runs submitted at once (each is a create and a job). */
const SUBMIT_BATCH = 100;

describe.skipIf(!canSpawnWorkers())('a fleet of worker processes on one Redis', () => {
  const fleet = processFleet('kill', { concurrency: CONCURRENCY, leaseMs: LEASE_MS, sliceTurns: SLICE_TURNS });
  const { workers } = fleet;
  const spawnOne = (prefix: string) => fleet.spawn(prefix);

  /** A submitting (and approving) client in this process: its own Supervisor with the queue, hosting nothing. */
  async function client(prefix: string) {
    const store = new RedisStore({ url: fleet.url, prefix });
    const queue = new SliceQueue({ url: fleet.url, prefix });
    const ledger = new SyncedLedger(fleet.ledgerDir(prefix));
    const supervisor = await Supervisor.open({ store, agents: fleetAgents(ledger), queue, workerId: 'client' });
    const done = new Redis(fleet.url);
    return {
      store,
      queue,
      supervisor,
      /** Runs in a final state, from the index (one ZCARD, so polling costs the workers nothing). */
      ended: async () => done.zcard(indexKeys(prefix).status('done')),
      /**
       * Runs not in a final state. Listing them also repairs the index: a
       * worker killed between a run's last commit and its index write (a
       * separate slot) leaves a finished run listed as running until a list()
       * reads its summary.
       */
      unfinished: async () => (await store.list({ status: 'running' })).length + (await store.list({ status: 'paused' })).length,
      close: async () => {
        await supervisor.close();
        await queue.close();
        await store.close();
        ledger.close();
        done.disconnect();
      },
    };
  }

  async function submitAll(submit: (runId: string) => Promise<string>, ids: readonly string[]) {
    for (let i = 0; i < ids.length; i += SUBMIT_BATCH) await Promise.all(ids.slice(i, i + SUBMIT_BATCH).map(submit));
  }

  it(`${RUNS} runs of 20 turns across ${WORKERS} workers SIGKILLed ${KILLS} times: every run COMPLETED, every effect once, no fencing violation`, async () => {
    const prefix = 'kill';
    const began = Date.now();
    const c = await client(prefix);
    const rand = prng(SEED);
    const ids = Array.from({ length: RUNS }, (_, i) => `run${i}`);
    await submitAll((id) => c.supervisor.submit('turns', { runId: id }), ids);
    const submitted = Date.now();
    for (let i = 0; i < WORKERS; i++) spawnOne(prefix);
    await Promise.all(workers.map((w) => w.ready));
    let kills = 0;
    const loads: number[] = [];
    for (let poll = 0; ; poll++) {
      const ended = await c.ended();
      if ((ended >= RUNS || poll % 10 === 9) && (await c.unfinished()) === 0) break;
      if (kills < KILLS && ended >= ((kills + 1) * RUNS) / (KILLS + 1)) {
        await delay(Math.floor(rand() * 400));
        const alive = fleet.alive();
        const victim = alive[Math.floor(rand() * alive.length)]!;
        await victim.kill9();
        kills++;
        spawnOne(prefix);
        loads.push(loadavg()[0]!);
      }
      await delay(200);
    }
    const drained = Date.now();
    const audit = await auditTurns(c.store, ids, fleet.ledgerDir(prefix));
    const depth = await c.queue.depth();
    console.log(
      `[fleet] seed=${SEED} runs=${RUNS} workers=${WORKERS} kills=${kills} slice-turns=${SLICE_TURNS} reasons=${JSON.stringify(audit.byReason)} ` +
        `unfinished=${audit.unfinished.length} wrong-effects=${audit.wrongEffects.length} fencing-violations=${audit.fencingViolations.length} changed-hands=${audit.changedHands} ` +
        `submit ${((submitted - began) / 1000).toFixed(1)}s, to the last end ${((drained - submitted) / 1000).toFixed(1)}s, load average at kills ${loads.map((l) => l.toFixed(1)).join(' ')}, queue after ${JSON.stringify(depth)}`,
    );
    await c.close();
    const replay = `replay with FLEET_SEED=${SEED}`;
    expect.soft(audit.unfinished, replay).toEqual([]);
    expect.soft(audit.wrongEffects, replay).toEqual([]);
    expect.soft(audit.fencingViolations, replay).toEqual([]);
    expect(audit.byReason).toEqual({ COMPLETED: RUNS });
    expect(kills).toBe(KILLS);
  }, 3_600_000);

  it(`${APPROVALS} runs waiting for approval hold no worker slot; approving them from this process finishes them all`, async () => {
    const prefix = 'approve';
    const c = await client(prefix);
    const ids = Array.from({ length: APPROVALS }, (_, i) => `ap${i}`);
    const started = Array.from({ length: WORKERS }, () => spawnOne(prefix));
    await Promise.all(started.map((w) => w.ready));
    await submitAll((id) => c.supervisor.submit('approval', { runId: id }), ids);
    const approvalsWaiting = async () => (await c.store.list({ status: 'running' })).filter((s) => s.state === 'awaitingApproval').length;
    await waitUntil(async () => (await approvalsWaiting()) === APPROVALS && (await c.queue.depth()).active === 0, 600_000, 'every run to wait for its approval', 500);
    const holdings = await Promise.all(started.map((w) => w.holdings()));
    const depth = await c.queue.depth();
    expect(holdings).toEqual(started.map(() => ({ inHand: 0, hosted: 0 })));
    expect(depth).toMatchObject({ waiting: 0, active: 0, prioritized: 0, failed: 0 });
    for (let i = 0; i < ids.length; i += SUBMIT_BATCH) await Promise.all(ids.slice(i, i + SUBMIT_BATCH).map((id) => c.supervisor.approve(id, 'alice')));
    await waitUntil(async () => (await c.unfinished()) === 0, 600_000, 'every approved run to end', 1_000);
    const reasons: Record<string, number> = {};
    for (const id of ids) {
      const reason = (await c.store.load(id))?.summary.reason ?? 'none';
      reasons[reason] = (reasons[reason] ?? 0) + 1;
    }
    const charges = [...readLedger(fleet.ledgerDir(prefix)).values()].map((e) => e.apply);
    console.log(`[fleet] approvals=${APPROVALS} held while waiting ${JSON.stringify(holdings)} queue ${JSON.stringify(depth)} reasons=${JSON.stringify(reasons)}`);
    await c.close();
    expect(reasons).toEqual({ COMPLETED: APPROVALS });
    expect(charges.length).toBe(APPROVALS);
    expect(charges.every((n) => n === 1)).toBe(true);
  }, 1_800_000);
});
