import { describe, expect, it } from 'vitest';
import { SliceQueue } from '../../agents/fleet/slice-queue.js';
import { readWorkerBeats } from '../../agents/fleet/worker-beat.js';
import { Supervisor } from '../../agents/supervisor.js';
import { TerminalOutcome } from '../../machines/outcome.js';
import { RedisStore } from '../../persistence/redis-store.js';
import { prng } from '../crash/agents.js';
import { canSpawnWorkers, delay, waitUntil } from '../crash/harness.js';
import { fleetHostables, readLedger, SyncedLedger } from './agents.js';
import { auditTurns, fenceAudit } from './audit.js';
import { processFleet } from './processes.js';

/**
 * Pipelines on a fleet of worker processes: a parent's children are runs of
 * their own, taken in slices like any run; the parent rests (no slot, no
 * memory) while they run and is woken by their ends. Two workers on one
 * private Redis; in the second test the workers are SIGKILLed (each kill
 * triggered by another share of the child runs ending, landing a random few
 * hundred milliseconds later) and replaced at once.
 *
 * Sizes (the defaults are the committed figures): FLEET_CHILDREN (approval
 * children of one parent), FLEET_PIPELINES and FLEET_FAN (pipelines, and
 * 20-turn children of each), FLEET_CHILD_KILLS; FLEET_SEED replays the kill plan.
 */
const CHILDREN = Number(process.env.FLEET_CHILDREN ?? 8);
const PIPELINES = Number(process.env.FLEET_PIPELINES ?? 3);
const FAN = Number(process.env.FLEET_FAN ?? 4);
const KILLS = Number(process.env.FLEET_CHILD_KILLS ?? 3);
const SEED = Number(process.env.FLEET_SEED ?? Math.floor(Math.random() * 2 ** 31));
const WORKERS = 2;
const LEASE_MS = 3_000;

describe.skipIf(!canSpawnWorkers())('pipelines on a fleet of worker processes', () => {
  const fleet = processFleet('children', { concurrency: 8, leaseMs: LEASE_MS, sliceTurns: 8, heartbeatMs: 200 });

  /** A submitting (and approving) client in this process, hosting nothing. */
  async function client(prefix: string) {
    const store = new RedisStore({ url: fleet.url, prefix });
    const queue = new SliceQueue({ url: fleet.url, prefix });
    const ledger = new SyncedLedger(fleet.ledgerDir(prefix));
    const supervisor = await Supervisor.open({ store, agents: fleetHostables(ledger), queue, workerId: 'client' });
    return {
      store,
      queue,
      supervisor,
      outcome: async (runId: string) => TerminalOutcome.safeParse((await store.load(runId))?.outcome).data ?? null,
      close: async () => {
        await supervisor.close();
        await queue.close();
        await store.close();
        ledger.close();
      },
    };
  }

  it(`a fan-out of ${CHILDREN} approval children: while they wait, neither they nor their parent hold a worker slot; approving them all at once completes the parent`, async () => {
    const prefix = 'approve';
    const c = await client(prefix);
    const started = Array.from({ length: WORKERS }, () => fleet.spawn(prefix));
    await Promise.all(started.map((w) => w.ready));
    const parentId = await c.supervisor.submit('fan-approval', { runId: 'batch', input: { children: CHILDREN } });
    const kids = Array.from({ length: CHILDREN }, (_, i) => `${parentId}.charge.${i}`);
    const waiting = async () => (await c.store.list({ parentId, status: 'running' })).filter((s) => s.state === 'awaitingApproval').length;
    await waitUntil(async () => (await waiting()) === CHILDREN && (await c.queue.depth()).active === 0, 120_000, 'every child to wait for its approval', 100);
    // The heartbeats say so too (written every 200 ms): nothing in hand anywhere while the whole tree waits.
    await waitUntil(async () => (await readWorkerBeats(c.queue.client, c.queue.workersKey)).every((b) => b.inHand === 0 && b.heartbeatAt > Date.now() - 150), 10_000, 'fresh heartbeats');
    const beats = await readWorkerBeats(c.queue.client, c.queue.workersKey);
    const holdings = await Promise.all(started.map((w) => w.holdings()));
    expect(beats.map((b) => b.inHand)).toEqual(started.map(() => 0));
    expect(holdings).toEqual(started.map(() => ({ inHand: 0, hosted: 0 })));
    expect(await c.queue.depth()).toMatchObject({ waiting: 0, active: 0, prioritized: 0, failed: 0 });
    expect((await c.store.load(parentId))?.summary).toMatchObject({ status: 'running', state: 'charge' });
    expect((await c.store.readLease(parentId))?.expiresAt ?? 0).toBeLessThan(Date.now());

    await Promise.all(kids.map((kid) => c.supervisor.approve(kid, 'alice')));
    await waitUntil(async () => (await c.store.load(parentId))?.summary.status === 'done', 120_000, 'the parent to end', 100);
    expect(await c.outcome(parentId)).toMatchObject({ reason: 'COMPLETED', stage: 'charge' });
    for (const kid of kids) expect(await c.outcome(kid)).toMatchObject({ reason: 'COMPLETED', runId: kid, agentId: 'approval' });
    expect((await c.store.list({ parentId })).map((s) => s.runId).sort()).toEqual([...kids].sort());
    expect([...readLedger(fleet.ledgerDir(prefix)).entries()].sort()).toEqual(kids.map((kid) => [`${kid}|a1`, { apply: 1, once: 0 }]).sort());
    await c.close();
  }, 300_000);

  it(`${PIPELINES} pipelines of ${FAN} + 1 twenty-turn children, the workers SIGKILLed ${KILLS} times: every pipeline and child COMPLETED, every effect once, no fencing violation`, async () => {
    const prefix = 'kill';
    const c = await client(prefix);
    const rand = prng(SEED);
    for (let i = 0; i < WORKERS; i++) fleet.spawn(prefix);
    await Promise.all(fleet.alive().map((w) => w.ready));
    const parents = Array.from({ length: PIPELINES }, (_, i) => `fan${i}`);
    await Promise.all(parents.map((runId) => c.supervisor.submit('fan', { runId, input: { children: FAN } })));
    const kids = parents.flatMap((p) => [...Array.from({ length: FAN }, (_, i) => `${p}.work.${i}`), `${p}.close.0`]);
    const ended = async () => (await Promise.all(kids.map((k) => c.store.load(k)))).filter((r) => r?.summary.status === 'done').length;
    let kills = 0;
    for (;;) {
      const parentsDone = (await Promise.all(parents.map((p) => c.store.load(p)))).every((r) => r?.summary.status === 'done');
      if (parentsDone) break;
      // Kill k lands once k/(KILLS+1) of the children have ended (the first at once): early enough that a fast machine still
      // has children running when the last one lands.
      if (kills < KILLS && (await ended()) >= (kills * kids.length) / (KILLS + 1)) {
        await delay(Math.floor(rand() * 400));
        const live = fleet.alive();
        await live[Math.floor(rand() * live.length)]!.kill9();
        kills++;
        fleet.spawn(prefix);
      }
      await delay(100);
    }
    const audit = await auditTurns(c.store, kids, fleet.ledgerDir(prefix));
    const parentFences = (await Promise.all(parents.map((p) => fenceAudit(c.store, p)))).flatMap((f) => f.violations);
    console.log(
      `[fleet children] seed=${SEED} pipelines=${PIPELINES} children=${kids.length} kills=${kills} reasons=${JSON.stringify(audit.byReason)} unfinished=${audit.unfinished.length} ` +
        `wrong-effects=${audit.wrongEffects.length} fencing-violations=${audit.fencingViolations.length + parentFences.length} children-changed-hands=${audit.changedHands}`,
    );
    const replay = `replay with FLEET_SEED=${SEED}`;
    for (const p of parents) expect.soft(await c.outcome(p), replay).toMatchObject({ reason: 'COMPLETED', stage: 'close', childRunId: `${p}.close.0` });
    expect.soft(audit.unfinished, replay).toEqual([]);
    expect.soft(audit.wrongEffects, replay).toEqual([]);
    expect.soft([...audit.fencingViolations, ...parentFences], replay).toEqual([]);
    expect(audit.byReason).toEqual({ COMPLETED: kids.length });
    expect(kills).toBe(KILLS);
    await c.close();
  }, 600_000);
});
