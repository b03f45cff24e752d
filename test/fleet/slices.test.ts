import { afterEach, describe, expect, it } from 'vitest';
import { subRunId } from '../../agents/sub-agent.js';
import { fleetKeys } from '../../persistence/redis/keys.js';
import type { SnapshotStore } from '../../persistence/store.js';
import { waitUntil } from '../crash/harness.js';
import { FLEET_TURNS, readLedger } from './agents.js';
import { auditTurns } from './audit.js';
import { closeFleets, inProcessFleet as fleet } from './in-process.js';

afterEach(closeFleets);

describe('slices of runs on BullMQ', () => {
  it('submitted runs end COMPLETED, in slices of the limit, each charge once; the same run id twice is one run', async () => {
    const f = await fleet(2, { maxTurns: 7 });
    const ids = await Promise.all(Array.from({ length: 6 }, (_, i) => f.client.submit('turns', { runId: `s${i}` })));
    expect(await f.client.submit('turns', { runId: 's0' })).toBe('s0');
    await waitUntil(async () => (await f.store.list({ status: 'done' })).length === ids.length, 60_000, 'every run to end');
    for (const id of ids) {
      const record = await f.store.load(id);
      expect(record?.outcome).toMatchObject({ reason: 'COMPLETED', turns: FLEET_TURNS + 1 });
    }
    const ledger = readLedger(f.dir);
    const charges = [...ledger].filter(([, c]) => c.apply > 0);
    expect(charges.every(([, c]) => c.apply === 1)).toBe(true);
    // Every third turn charges: turns 3, 6, … 18.
    expect(charges.length).toBe(ids.length * Math.floor(FLEET_TURNS / 3));
    // 21 turns in slices of at most 7: three limits per run before it ends, never more (s0 was submitted twice).
    const limits = f.ends.filter((e) => e.end.kind === 'limit');
    expect(limits.length).toBe(ids.length * 2);
    expect(f.ends.filter((e) => e.end.kind === 'ended').length).toBe(ids.length);
  });

  it('a run waiting for approval holds no slot; approving it from another supervisor finishes it', async () => {
    const f = await fleet(1);
    const ids = await Promise.all(Array.from({ length: 5 }, (_, i) => f.client.submit('approval', { runId: `a${i}` })));
    await waitUntil(() => f.ends.filter((e) => e.end.kind === 'resting').length >= ids.length, 30_000, 'every run to rest');
    // A slice is told it ended a moment before its worker lets go of it, and BullMQ completes its job a moment after:
    // then nothing is in hand, and no job active, while every run waits.
    await waitUntil(async () => f.workers[0]!.inHand === 0 && (await f.queue.depth()).active === 0, 10_000, 'the worker to let go of its last slice');
    expect((await f.store.list({ status: 'done' })).length).toBe(0);
    for (const id of ids) await f.client.approve(id, 'alice');
    await waitUntil(async () => (await f.store.list({ status: 'done' })).length === ids.length, 30_000, 'every run to end');
    for (const id of ids) expect((await f.store.load(id))?.outcome).toMatchObject({ reason: 'COMPLETED' });
    expect([...readLedger(f.dir).values()].map((c) => c.apply)).toEqual(ids.map(() => 1));
  });
});

describe('pipelines on the fleet: children are runs of their own, a parent rests while they run', () => {
  const children = (parentId: string, stage: string, n: number) => Array.from({ length: n }, (_, i) => `${parentId}.${stage}.${i}`);

  it('a fan-out of approval children: the parent and its children hold no slot while they wait; approving them all at once wakes the parent, which completes', async () => {
    const f = await fleet(2);
    const parentId = await f.client.submit('fan-approval', { runId: 'p1', input: { children: 3 }, tenant: 'acme' });
    const kids = children(parentId, 'charge', 3);
    const waiting = async () => (await f.store.list({ parentId, status: 'running' })).filter((s) => s.state === 'awaitingApproval').length;
    await waitUntil(async () => (await waiting()) === kids.length, 30_000, 'every child to wait for its approval');
    await waitUntil(() => f.ends.some((e) => e.runId === parentId && e.end.kind === 'resting' && e.end.why === 'children'), 30_000, 'the parent to rest on its children');
    // A job stays active a moment after its slice let go of its run (it enqueues what the slice asks for first).
    await waitUntil(async () => f.workers.every((w) => w.inHand === 0) && (await f.queue.depth()).active === 0, 10_000, 'the workers to let go of their last slices');
    expect(f.supervisors.flatMap((s) => s.runs())).toEqual([]);
    expect(await f.queue.depth()).toMatchObject({ waiting: 0, active: 0, prioritized: 0, failed: 0 });
    // Each child is a run of its own: unowned, linked to its parent, of its parent's tenant.
    for (const kid of kids) {
      const record = await f.store.load(kid);
      expect(record?.summary).toMatchObject({ parentId, agentId: 'approval', status: 'running' });
      expect((await f.store.readLease(kid))?.expiresAt ?? 0).toBeLessThan(Date.now());
      expect(await f.queue.client.hget(fleetKeys(f.prefix).run(kid), 'tenant')).toBe('acme');
    }
    expect((await f.store.load(parentId))?.summary.status).toBe('running');
    // Several children ending at once: every end wakes the parent, which ends once.
    await Promise.all(kids.map((kid) => f.client.approve(kid, 'alice')));
    await waitUntil(async () => (await f.store.load(parentId))?.summary.status === 'done', 30_000, 'the parent to end');
    expect((await f.store.load(parentId))?.outcome).toMatchObject({ reason: 'COMPLETED', stage: 'charge' });
    for (const kid of kids) expect((await f.store.load(kid))?.outcome).toMatchObject({ reason: 'COMPLETED', runId: kid });
    expect([...readLedger(f.dir).entries()].sort()).toEqual(kids.map((kid) => [`${kid}|a1`, { apply: 1, once: 0 }]));
    // Its slice reports the end a moment after the end is durable; then no other slice of it ends it again.
    await waitUntil(async () => f.ends.some((e) => e.runId === parentId && e.end.kind === 'ended') && (await f.queue.depth()).active === 0, 10_000, 'the last slice of the parent');
    expect(f.ends.filter((e) => e.runId === parentId && e.end.kind === 'ended' && e.end.outcome !== null)).toHaveLength(1);
  });

  it('a fan-out of 20-turn children cut in slices completes with every child stored with its own outcome and each effect once', async () => {
    const f = await fleet(2, { maxTurns: 7 });
    const parentId = await f.client.submit('fan', { runId: 'p2', input: { children: 4 } });
    await waitUntil(() => f.ends.some((e) => e.runId === parentId && e.end.kind === 'ended'), 60_000, 'the parent to end');
    expect((await f.store.load(parentId))?.outcome).toMatchObject({ reason: 'COMPLETED', stage: 'close', childRunId: `${parentId}.close.0` });
    const kids = [...children(parentId, 'work', 4), `${parentId}.close.0`];
    expect((await f.store.list({ parentId })).map((s) => s.runId).sort()).toEqual([...kids].sort());
    const audit = await auditTurns(f.store, kids, f.dir);
    expect(audit).toMatchObject({ byReason: { COMPLETED: kids.length }, unfinished: [], wrongEffects: [], fencingViolations: [] });
    // The parent is hosted only to start children and to read their ends: it never reaches a slice limit.
    const parentEnds = f.ends.filter((e) => e.runId === parentId).map((e) => e.end);
    expect(parentEnds.map((e) => e.kind)).not.toContain('limit');
    expect(parentEnds.filter((e) => e.kind === 'ended' && e.outcome !== null)).toHaveLength(1);
  });

  it('a child that ends while its parent is still letting go of its slice wakes it all the same: the wake waits for the lease', async () => {
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    let gated = false;
    // The parent's first lease release (its rest on its children) waits at the gate: the parent is still holding its lease.
    const slowRelease = (store: SnapshotStore): SnapshotStore =>
      new Proxy(store, {
        get(target, prop) {
          const value = Reflect.get(target, prop) as unknown;
          if (typeof value !== 'function') return value;
          if (prop !== 'releaseLease') return (value as (...a: unknown[]) => unknown).bind(target);
          const release: SnapshotStore['releaseLease'] = async (runId, lease) => {
            if (runId === 'p4' && !gated) {
              gated = true;
              await gate;
            }
            return target.releaseLease(runId, lease);
          };
          return release;
        },
      });
    const f = await fleet(2, {}, slowRelease);
    const parentId = await f.client.submit('fan-approval', { runId: 'p4', input: { children: 1 } });
    const kid = `${parentId}.charge.0`;
    await waitUntil(async () => gated && (await f.store.load(kid))?.summary.state === 'awaitingApproval', 30_000, 'the child to wait while its parent lets go');
    await f.client.approve(kid, 'alice');
    await waitUntil(async () => (await f.store.load(kid))?.summary.status === 'done', 30_000, 'the child to end');
    // Its end woke the parent, whose lease is still held: that slice is put back for later, not dropped.
    await waitUntil(() => f.ends.some((e) => e.runId === parentId && e.end.kind === 'held'), 30_000, 'the wake to find the parent held');
    open();
    await waitUntil(async () => (await f.store.load(parentId))?.summary.status === 'done', 30_000, 'the parent to end');
    expect((await f.store.load(parentId))?.outcome).toMatchObject({ reason: 'COMPLETED', stage: 'charge' });
    // Its slice reports the end a moment after the end is durable; then no other slice of it ends it again.
    await waitUntil(async () => f.ends.some((e) => e.runId === parentId && e.end.kind === 'ended') && (await f.queue.depth()).active === 0, 10_000, 'the last slice of the parent');
    expect(f.ends.filter((e) => e.runId === parentId && e.end.kind === 'ended' && e.end.outcome !== null)).toHaveLength(1);
    expect([...readLedger(f.dir).entries()]).toEqual([[`${kid}|a1`, { apply: 1, once: 0 }]]);
  });

  it('a parent that died after creating a child but before enqueueing it: its next slice creates the others and gives that one its first job', async () => {
    const f = await fleet(2);
    const kids = children('p5', 'charge', 3);
    // As its dead first host left it: child 0 created (unowned, linked), no job for it.
    await f.client.createRun('approval', { runId: kids[0]!, parentId: 'p5', input: { i: 0 } });
    await f.client.submit('fan-approval', { runId: 'p5', input: { children: 3 } });
    await waitUntil(async () => (await f.store.list({ parentId: 'p5', status: 'running' })).filter((s) => s.state === 'awaitingApproval').length === 3, 30_000, 'every child to wait');
    await Promise.all(kids.map((kid) => f.client.approve(kid, 'alice')));
    await waitUntil(async () => (await f.store.load('p5'))?.summary.status === 'done', 30_000, 'the parent to end');
    expect((await f.store.load('p5'))?.outcome).toMatchObject({ reason: 'COMPLETED' });
    expect((await f.store.list({ parentId: 'p5' })).map((s) => s.runId).sort()).toEqual(kids);
    expect([...readLedger(f.dir).entries()].sort()).toEqual(kids.map((kid) => [`${kid}|a1`, { apply: 1, once: 0 }]));
  });

  it('a sub-agent on the fleet: the calling agent rests while its child waits, and the end of its child brings the call its outcome', async () => {
    const f = await fleet(2);
    const parentId = await f.client.submit('delegate', { runId: 'd1' });
    // Named for its parent and the calling step (the first tool call is step 2): a repeated call attaches to it.
    const kid = subRunId(parentId, 2);
    await waitUntil(async () => (await f.store.load(kid))?.summary.state === 'awaitingApproval', 30_000, 'the sub-agent to wait for its approval');
    await waitUntil(() => f.ends.some((e) => e.runId === parentId && e.end.kind === 'resting' && e.end.why === 'children'), 30_000, 'the caller to rest on its child');
    await waitUntil(async () => f.workers.every((w) => w.inHand === 0) && (await f.queue.depth()).active === 0, 10_000, 'the workers to let go');
    expect((await f.store.load(kid))?.summary.parentId).toBe(parentId);
    await f.client.approve(kid, 'alice');
    await waitUntil(async () => (await f.store.load(parentId))?.summary.status === 'done', 30_000, 'the caller to end');
    expect((await f.store.load(parentId))?.outcome).toMatchObject({ reason: 'COMPLETED', result: 'delegated' });
    expect((await f.store.load(kid))?.outcome).toMatchObject({ reason: 'COMPLETED', runId: kid });
    expect([...readLedger(f.dir).entries()]).toEqual([[`${kid}|a1`, { apply: 1, once: 0 }]]);
  });

  it('a parent killed while it rests on its children kills them', async () => {
    const f = await fleet(1);
    const parentId = await f.client.submit('fan-approval', { runId: 'p3', input: { children: 2 } });
    const kids = children(parentId, 'charge', 2);
    await waitUntil(() => f.ends.some((e) => e.runId === parentId && e.end.kind === 'resting'), 30_000, 'the parent to rest on its children');
    await f.client.kill(parentId, 'alice', 'wrong batch');
    await waitUntil(async () => (await f.store.list({ parentId, status: 'done' })).length === kids.length && (await f.store.load(parentId))?.summary.status === 'done', 30_000, 'parent and children to end');
    expect((await f.store.load(parentId))?.outcome).toMatchObject({ reason: 'USER_KILLED', by: 'alice' });
    for (const kid of kids) expect((await f.store.load(kid))?.outcome).toMatchObject({ reason: 'USER_KILLED', by: 'reins', why: expect.stringContaining(parentId) });
    expect(readLedger(f.dir).size).toBe(0);
  });
});
