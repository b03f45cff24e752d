import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ApprovalExpiredError,
  ApprovalNotPendingError,
  CorruptRecordError,
  UnknownApprovalError,
  RunExistsError,
  StaleLeaseError,
  StaleVersionError,
  UnknownRunError,
} from '../../persistence/errors.js';
import { InvalidRunIdError } from '../../persistence/run-id.js';
import { RECORD_SCHEMA, type ApprovalItem, type Command, type RunRecord, type RunSummary } from '../../persistence/records.js';
import { commitOf } from '../../persistence/commit.js';
import { computeStats } from '../../agents/stats.js';
import type { SnapshotStore } from '../../persistence/store.js';
import { sleep, until } from '../support/tools.js';

/** What each store's test file provides: a fresh store, a second handle on the same data, and a way to corrupt bytes. */
export interface StoreHarness {
  readonly store: SnapshotStore;
  /** Another store instance over the same data, as a second process would have. */
  readonly peer: () => Promise<SnapshotStore>;
  /** Overwrites the run's stored record with `bytes`, as a torn write or a bad migration would. */
  readonly corrupt: (runId: string, bytes: string) => Promise<void>;
  /** Overwrites the summary a store keeps beside the record for listings with `bytes`; absent for a store that keeps none. */
  readonly damageSummary?: (runId: string, bytes: string) => Promise<void>;
  readonly cleanup: () => Promise<void>;
}

let seq = 0;
/** A unique run id per test, so stores shared between tests never collide. */
export function freshId(prefix = 'run'): string {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${seq++}`;
}

/** A minimal valid record at `version`. */
export function recordOf(runId: string, version: number, over: Partial<RunSummary> = {}, snapshot: unknown = { value: 'planning', n: version }): RunRecord {
  return {
    schema: RECORD_SCHEMA,
    machine: { id: 'agent', version: 'v1' },
    version,
    summary: {
      runId,
      agentId: 'support',
      parentId: null,
      status: 'running',
      state: 'planning',
      step: version,
      turns: version,
      activeTool: null,
      costUsd: 0,
      reason: null,
      createdAt: 1,
      updatedAt: 1_000 + version,
      ...over,
    },
    snapshot: snapshot as RunRecord['snapshot'],
    outcome: null,
  };
}

/** The SnapshotStore contract, run against every store. */
export function describeStoreConformance(name: string, make: () => Promise<StoreHarness>): void {
  describe(`${name} conforms to SnapshotStore`, () => {
    let h: StoreHarness;
    let store: SnapshotStore;
    beforeEach(async () => {
      h = await make();
      store = h.store;
    });
    afterEach(async () => {
      await h.cleanup();
    });

    const leased = async (runId: string) => {
      await store.create(recordOf(runId, 1));
      const lease = await store.acquireLease(runId, 'worker-a', 10_000);
      if (!lease) throw new Error('lease not acquired');
      return lease;
    };

    it('creates, loads, and refuses a duplicate id', async () => {
      const id = freshId();
      await store.create(recordOf(id, 1));
      expect(await store.load(id)).toEqual(recordOf(id, 1));
      await expect(store.create(recordOf(id, 1))).rejects.toBeInstanceOf(RunExistsError);
      expect(await store.load(freshId('missing'))).toBeNull();
    });

    it('creation is ownership: a run created with a lease is never free for another owner, and its window rides with started', async () => {
      const id = freshId();
      const before = Date.now();
      const lease = await store.create(recordOf(id, 1), { owner: 'creator', ttlMs: 10_000 });
      expect(lease).toMatchObject({ owner: 'creator', token: 1 });
      expect(lease!.expiresAt).toBeGreaterThanOrEqual(before + 10_000 - 50);
      expect(await store.readLease(id)).toEqual(lease);
      expect(await store.acquireLease(id, 'recoverer', 10_000)).toBeNull();
      await store.save(recordOf(id, 2), { leaseToken: lease!.token });
      const window = { leaseExpiresAt: lease!.expiresAt, timeoutMs: 2_500 };
      expect((await store.commit(commitOf(id, { journalStart: { key: 'k', step: 3, window } }), { leaseToken: lease!.token })).existing).toBeNull();
      expect(await store.journalGet(id, 'k')).toMatchObject({ status: 'started', key: 'k', step: 3, token: 1, ...window });
      // Unowned creation (a dispatcher's submit) leaves the lease to whoever takes the run's job.
      const unowned = freshId();
      expect(await store.create(recordOf(unowned, 1))).toBeNull();
      expect(await store.readLease(unowned)).toBeNull();
      expect((await store.acquireLease(unowned, 'worker', 10_000))?.token).toBe(1);
    });

    it('saves with compare-and-set on the version', async () => {
      const id = freshId();
      const lease = await leased(id);
      await store.save(recordOf(id, 2), { leaseToken: lease.token });
      await expect(store.save(recordOf(id, 2), { leaseToken: lease.token })).rejects.toBeInstanceOf(StaleVersionError);
      await expect(store.save(recordOf(id, 4), { leaseToken: lease.token })).rejects.toBeInstanceOf(StaleVersionError);
      expect((await store.load(id))?.version).toBe(2);
      await expect(store.save(recordOf(freshId('nope'), 2), { leaseToken: 1 })).rejects.toBeInstanceOf(UnknownRunError);
    });

    it('leases: one owner at a time, a fencing token that only grows, stale writes refused', async () => {
      const id = freshId();
      await store.create(recordOf(id, 1));
      const a = await store.acquireLease(id, 'worker-a', 150);
      expect(a).not.toBeNull();
      expect(await store.acquireLease(id, 'worker-b', 150)).toBeNull();
      // The same owner taking the lease again is a new holding: the earlier one is fenced out, never doubled.
      const again = await store.acquireLease(id, 'worker-a', 150);
      expect(again!.token).toBe(a!.token + 1);
      await expect(store.save(recordOf(id, 2), { leaseToken: a!.token })).rejects.toBeInstanceOf(StaleLeaseError);
      expect(await store.renewLease(id, a!, 1_000)).toBeNull();
      await sleep(220);
      const b = await store.acquireLease(id, 'worker-b', 10_000);
      expect(b!.token).toBeGreaterThan(again!.token);
      await expect(store.save(recordOf(id, 2), { leaseToken: again!.token })).rejects.toBeInstanceOf(StaleLeaseError);
      await store.save(recordOf(id, 2), { leaseToken: b!.token });
      const renewed = await store.renewLease(id, b!, 20_000);
      expect(renewed?.token).toBe(b!.token);
      expect(renewed!.expiresAt).toBeGreaterThan(b!.expiresAt - 1);
      await store.releaseLease(id, b!);
      // A renewal sent before the release and answered after it must not revive the lease.
      expect(await store.renewLease(id, renewed!, 20_000)).toBeNull();
      const c = await store.acquireLease(id, 'worker-c', 1_000);
      expect(c!.token).toBeGreaterThan(b!.token);
      expect((await store.readLease(id))?.owner).toBe('worker-c');
    });

    it('journal: started once, done with result, stale writers refused, trimmed by step', async () => {
      const id = freshId();
      const lease = await leased(id);
      const fence = { leaseToken: lease.token };
      expect(await store.journalStart(id, `${id}:2:1`, 2, fence)).toBeNull();
      expect(await store.journalStart(id, `${id}:2:1`, 2, fence)).toMatchObject({ status: 'started', step: 2, token: lease.token });
      await store.journalDone(id, `${id}:2:1`, 2, { charged: 9 }, fence);
      expect(await store.journalGet(id, `${id}:2:1`)).toMatchObject({ status: 'done', result: { charged: 9 } });
      expect(await store.journalStart(id, `${id}:2:1`, 2, fence)).toMatchObject({ status: 'done', result: { charged: 9 } });
      // The first recorded outcome stands: a second `done` for the key changes nothing.
      await store.journalDone(id, `${id}:2:1`, 2, { charged: 10 }, fence);
      expect(await store.journalGet(id, `${id}:2:1`)).toMatchObject({ status: 'done', result: { charged: 9 } });
      await store.journalStart(id, `${id}:5:1`, 5, fence);
      await expect(store.journalStart(id, `${id}:6:1`, 6, { leaseToken: lease.token + 7 })).rejects.toBeInstanceOf(StaleLeaseError);
      await store.journalTrim(id, 5, fence);
      await expect(store.journalTrim(id, 9, { leaseToken: lease.token + 7 })).rejects.toBeInstanceOf(StaleLeaseError);
      expect(await store.journalGet(id, `${id}:2:1`)).toBeNull();
      expect(await store.journalGet(id, `${id}:5:1`)).toMatchObject({ status: 'started' });
    });

    it('commit: transcript, journal, record, trace and trim land together; a refused commit writes nothing', async () => {
      const id = freshId();
      const lease = await leased(id);
      const fence = { leaseToken: lease.token };
      await store.journalStart(id, `${id}:1:model`, 1, fence);
      const first = await store.commit(
        commitOf(id, {
          transcript: [{ step: 1, messages: [{ role: 'user', content: 'hi' }] }],
          journalDone: [{ key: `${id}:1:model`, step: 1, result: { said: 'call' } }],
          record: recordOf(id, 2),
          trace: [{ at: 5, kind: 'transition', to: 'acting' }],
          journalStart: { key: `${id}:2:tool`, step: 2 },
        }),
        fence,
      );
      expect(first).toEqual({ existing: null });
      expect((await store.load(id))?.version).toBe(2);
      expect(await store.transcriptRead(id)).toEqual([{ role: 'user', content: 'hi' }]);
      expect(await store.journalGet(id, `${id}:1:model`)).toMatchObject({ status: 'done', result: { said: 'call' } });
      expect(await store.journalGet(id, `${id}:2:tool`)).toMatchObject({ status: 'started', step: 2, token: lease.token });
      expect(await store.traceRead(id)).toEqual([{ at: 5, kind: 'transition', to: 'acting' }]);

      // The key already has an entry: the commit returns it and records nothing over it.
      const again = await store.commit(commitOf(id, { journalDone: [{ key: `${id}:2:tool`, step: 2, result: 7 }], journalStart: { key: `${id}:2:tool`, step: 2 }, trimBelow: 2 }), fence);
      expect(again.existing).toMatchObject({ status: 'done', result: 7 });
      expect(await store.journalGet(id, `${id}:1:model`)).toBeNull();

      // A stale version or a stale lease: nothing of the commit is written.
      const refused = commitOf(id, {
        transcript: [{ step: 3, messages: [{ role: 'user', content: 'lost' }] }],
        journalDone: [{ key: `${id}:3:tool`, step: 3, result: 1 }],
        record: recordOf(id, 2),
        trace: [{ at: 6, kind: 'transition', to: 'planning' }],
        journalStart: { key: `${id}:4:tool`, step: 4 },
      });
      await expect(store.commit(refused, fence)).rejects.toBeInstanceOf(StaleVersionError);
      await expect(store.commit({ ...refused, record: recordOf(id, 3) }, { leaseToken: lease.token + 1 })).rejects.toBeInstanceOf(StaleLeaseError);
      expect((await store.load(id))?.version).toBe(2);
      expect(await store.transcriptRead(id)).toHaveLength(1);
      expect(await store.journalGet(id, `${id}:3:tool`)).toBeNull();
      expect(await store.journalGet(id, `${id}:4:tool`)).toBeNull();
      expect(await store.traceRead(id)).toHaveLength(1);
      await expect(store.commit(commitOf(freshId('nope'), { trace: [{ at: 1, kind: 'x' }] }), fence)).rejects.toBeInstanceOf(UnknownRunError);
    });

    it('transcript: each step appended exactly once, in order', async () => {
      const id = freshId();
      const lease = await leased(id);
      const fence = { leaseToken: lease.token };
      await store.transcriptAppend(id, 1, [{ role: 'user', content: 'hi' }], fence);
      await store.transcriptAppend(id, 1, [{ role: 'user', content: 'hi' }], fence);
      await store.transcriptAppend(id, 3, [{ role: 'tool', content: 'a' }, { role: 'tool', content: 'b' }], fence);
      expect(await store.transcriptRead(id)).toEqual([
        { role: 'user', content: 'hi' },
        { role: 'tool', content: 'a' },
        { role: 'tool', content: 'b' },
      ]);
      await expect(store.transcriptAppend(id, 4, [], { leaseToken: -1 })).rejects.toBeInstanceOf(StaleLeaseError);
    });

    it('trace: appended in order and read back by the most recent', async () => {
      const id = freshId();
      await store.create(recordOf(id, 1));
      await store.traceAppend(id, [{ at: 1, kind: 'transition', to: 'planning' }]);
      await store.traceAppend(id, [{ at: 2, kind: 'tool', tool: 'lookup' }, { at: 3, kind: 'transition', to: 'acting' }]);
      expect(await store.traceRead(id)).toEqual([
        { at: 1, kind: 'transition', to: 'planning' },
        { at: 2, kind: 'tool', tool: 'lookup' },
        { at: 3, kind: 'transition', to: 'acting' },
      ]);
      expect((await store.traceRead(id, 1)).map((e) => e.at)).toEqual([3]);
      expect(await store.traceRead(id, 0)).toEqual([]);
    });

    it('lists by status, agent and reason, newest first', async () => {
      const agent = freshId('agent');
      const ids = [freshId(), freshId(), freshId()];
      await store.create(recordOf(ids[0]!, 1, { agentId: agent, updatedAt: 10 }));
      await store.create(recordOf(ids[1]!, 1, { agentId: agent, status: 'done', reason: 'COMPLETED', updatedAt: 30 }));
      await store.create(recordOf(ids[2]!, 1, { agentId: agent, status: 'paused', updatedAt: 20 }));
      expect((await store.list({ agentId: agent })).map((s) => s.runId)).toEqual([ids[1], ids[2], ids[0]]);
      expect((await store.list({ agentId: agent, status: 'done' })).map((s) => s.runId)).toEqual([ids[1]]);
      expect((await store.list({ agentId: agent, reason: 'COMPLETED' })).map((s) => s.runId)).toEqual([ids[1]]);
      expect((await store.list({ agentId: agent, limit: 2 })).length).toBe(2);
      // The index follows saves.
      const lease = await store.acquireLease(ids[0]!, 'w', 5_000);
      await store.save(recordOf(ids[0]!, 2, { agentId: agent, status: 'done', reason: 'TIMEOUT', updatedAt: 40 }), { leaseToken: lease!.token });
      expect((await store.list({ agentId: agent, status: 'running' })).map((s) => s.runId)).toEqual([]);
      expect((await store.list({ agentId: agent, reason: 'TIMEOUT' })).map((s) => s.runId)).toEqual([ids[0]]);
    });

    it('a corrupt record is a typed error naming run and key, quarantines the run, and is not overwritten', async () => {
      const id = freshId();
      const lease = await leased(id);
      await h.corrupt(id, '{"schema":1,"version":"oops"');
      const err = await store.load(id).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CorruptRecordError);
      expect(err).toMatchObject({ runId: id, kind: 'corrupt-record' });
      expect((err as CorruptRecordError).key).toBeTruthy();
      expect((await store.list({ status: 'quarantined' })).map((s) => s.runId)).toContain(id);
      await expect(store.save(recordOf(id, 2), { leaseToken: lease.token })).rejects.toBeInstanceOf(CorruptRecordError);
      await expect(store.load(id)).rejects.toBeInstanceOf(CorruptRecordError);
      // An unknown schema version is refused the same way.
      const other = freshId();
      await store.create(recordOf(other, 1));
      await h.corrupt(other, JSON.stringify({ ...recordOf(other, 1), schema: 99 }));
      await expect(store.load(other)).rejects.toBeInstanceOf(CorruptRecordError);
    });

    it('a corrupt record quarantines that run only: the others load, commit and list as before', async () => {
      const bad = freshId();
      const good = freshId();
      await leased(bad);
      const lease = await leased(good);
      await h.corrupt(bad, 'not json');
      await expect(store.load(bad)).rejects.toMatchObject({ kind: 'corrupt-record', runId: bad });
      await store.save(recordOf(good, 2), { leaseToken: lease.token });
      expect((await store.load(good))?.version).toBe(2);
      const listed = await store.list();
      expect(listed.find((s) => s.runId === good)?.status).toBe('running');
      expect(listed.find((s) => s.runId === bad)?.status).toBe('quarantined');
    });

    it('a damaged summary is rebuilt from the record: the run lists and counts as it is, commits, purges, and is not quarantined', async (ctx) => {
      const damage = h.damageSummary;
      if (!damage) return ctx.skip();
      const agent = freshId('agent');
      const done = freshId();
      const running = freshId();
      await store.create(recordOf(done, 1, { agentId: agent }));
      const doneLease = (await store.acquireLease(done, 'worker-a', 10_000))!;
      const finished = recordOf(done, 2, { agentId: agent, status: 'done', reason: 'COMPLETED', createdAt: 500, updatedAt: 900 });
      await store.save(finished, { leaseToken: doneLease.token });
      await store.create(recordOf(running, 1, { agentId: agent }));
      const fence = { leaseToken: (await store.acquireLease(running, 'worker-a', 10_000))!.token };

      // Not JSON, and JSON that is not a summary (no numeric version).
      const garbage = ['{"version":', JSON.stringify({ version: 'two', summary: null })];
      for (const [i, bytes] of garbage.entries()) {
        await damage(done, bytes);
        await damage(running, bytes);
        const listed = await store.list({ agentId: agent });
        expect(listed).toEqual([recordOf(running, 1 + i, { agentId: agent }).summary, finished.summary]);
        expect(await store.list({ agentId: agent, status: 'done' })).toEqual([finished.summary]);
        expect(await store.list({ agentId: agent, status: 'quarantined' })).toEqual([]);
        // `reins stats` since the done run was created: it must be there, with its real creation time.
        const stats = computeStats(listed, { agentId: agent, since: 500 });
        expect(stats).toMatchObject({ runs: 1, active: 0, quarantined: 0 });
        expect(stats.byReason.COMPLETED.count).toBe(1);
        expect(await store.load(done)).toEqual(finished);
        // A commit goes through on the record's version, and compare-and-set still holds.
        await damage(running, bytes);
        await store.save(recordOf(running, 2 + i, { agentId: agent }), fence);
        await expect(store.save(recordOf(running, 2 + i, { agentId: agent }), fence)).rejects.toBeInstanceOf(StaleVersionError);
      }
      expect((await store.load(running))?.version).toBe(3);

      // purge decides on the record's facts: done, last updated at 900.
      await damage(done, 'garbage');
      await store.purge(1_000);
      expect(await store.load(done)).toBeNull();
      expect((await store.list({ agentId: agent })).map((s) => s.runId)).toEqual([running]);
    });

    it('a queued command stays until a commit acknowledges it, and leaves with that commit only', async () => {
      const id = freshId();
      const lease = await leased(id);
      const fence = { leaseToken: lease.token };
      const approve: Command = { type: 'APPROVE', by: 'op', at: 1 };
      const pause: Command = { type: 'PAUSE', by: 'op', why: 'look', at: 2 };
      await store.sendCommand(id, approve);
      await store.sendCommand(id, pause);
      const peeked = await store.peekCommands(id);
      expect(peeked.map((q) => q.command)).toEqual([approve, pause]);
      expect(new Set(peeked.map((q) => q.id)).size).toBe(2);
      // Read twice (a crash before the commit, a second read of the same host): nothing was taken.
      expect(await store.peekCommands(id)).toEqual(peeked);
      const peer = await h.peer();
      try {
        expect(await peer.peekCommands(id)).toEqual(peeked);
        // A fenced-out writer's acknowledgement is refused with its commit: the commands stay for the new owner.
        const next = await store.acquireLease(id, 'worker-a', 10_000);
        await expect(store.commit(commitOf(id, { record: recordOf(id, 2), ackCommands: [peeked[0]!.id] }), fence)).rejects.toBeInstanceOf(StaleLeaseError);
        expect(await peer.peekCommands(id)).toEqual(peeked);
        // A refused version writes nothing either.
        const owner = { leaseToken: next!.token };
        await expect(store.commit(commitOf(id, { record: recordOf(id, 3), ackCommands: [peeked[0]!.id] }), owner)).rejects.toBeInstanceOf(StaleVersionError);
        expect(await store.peekCommands(id)).toEqual(peeked);
        // The commit that stores the effect removes the command with it; one queued after the peek stays.
        const kill: Command = { type: 'KILL', by: 'op', why: 'done', at: 3 };
        await peer.sendCommand(id, kill);
        await store.commit(commitOf(id, { record: recordOf(id, 2), ackCommands: [peeked[0]!.id] }), owner);
        expect((await store.load(id))?.version).toBe(2);
        const left = await peer.peekCommands(id);
        expect(left.map((q) => q.command)).toEqual([pause, kill]);
        expect(left[0]).toEqual(peeked[1]);
        expect(left[1]!.id).not.toBe(peeked[0]!.id);
        // Acknowledging again (a retried commit whose first reply was lost) changes nothing.
        await store.commit(commitOf(id, { ackCommands: [peeked[0]!.id, left[0]!.id] }), owner);
        expect(await store.peekCommands(id)).toEqual([left[1]]);
      } finally {
        await peer.close();
      }
    });

    it('commands reach a watcher in another store instance, in order, once', async () => {
      const id = freshId();
      await store.create(recordOf(id, 1));
      const peer = await h.peer();
      try {
        const seen: string[] = [];
        const stop = await store.watchCommands((runId) => seen.push(runId));
        const pause: Command = { type: 'PAUSE', by: 'op', why: 'look', at: 1 };
        const kill: Command = { type: 'KILL', by: 'op', why: 'done', at: 2 };
        await peer.sendCommand(id, pause);
        await peer.sendCommand(id, kill);
        await until(() => seen.includes(id), 3_000);
        expect((await store.peekCommands(id)).map((q) => q.command)).toEqual([pause, kill]);
        await stop();
      } finally {
        await peer.close();
      }
    });

    it('refuses unsafe run ids with a typed error', async () => {
      for (const bad of ['../etc/passwd', 'a/b', '{tag}', '', 'x'.repeat(200)]) {
        await expect(store.create(recordOf(bad, 1))).rejects.toBeInstanceOf(InvalidRunIdError);
        await expect(store.load(bad)).rejects.toBeInstanceOf(InvalidRunIdError);
        await expect(store.readLease(bad)).rejects.toBeInstanceOf(InvalidRunIdError);
        await expect(store.traceRead(bad)).rejects.toBeInstanceOf(InvalidRunIdError);
      }
    });

    it('approval queue: most urgent first, decided once, never after its deadline', async () => {
      const now = Date.now();
      const item = (itemId: string, priority: number, requestedAt: number, deadlineAt = now + 60_000): ApprovalItem => ({
        itemId, runId: freshId(), agentId: 'support', tool: 'refund', callId: 'c1', arguments: { amount: 30, apiKey: '[redacted]' },
        priority, requestedAt, deadlineAt, status: 'pending', decision: null,
      });
      const tag = freshId('appr');
      const [low, urgentOld, urgentNew, stale] = [item(`${tag}-low`, 0, now - 5_000), item(`${tag}-old`, 5, now - 9_000), item(`${tag}-new`, 5, now - 1_000), item(`${tag}-stale`, 9, now - 1, now - 1)];
      for (const i of [low, urgentNew, stale, urgentOld]) await store.approvalPut(i);
      await store.approvalPut({ ...low, priority: 99 }); // a second put of the same id keeps the first
      const pending = (await store.approvalList({ status: 'pending' })).filter((i) => i.itemId.startsWith(tag)).map((i) => i.itemId);
      expect(pending).toEqual([stale.itemId, urgentOld.itemId, urgentNew.itemId, low.itemId]);
      const approved = await store.approvalDecide(urgentOld.itemId, { status: 'approved', by: 'carol', at: now, feedback: null, editedArguments: { amount: 20 } });
      expect(approved).toMatchObject({ status: 'approved', decision: { by: 'carol', editedArguments: { amount: 20 } } });
      await expect(store.approvalDecide(urgentOld.itemId, { status: 'rejected', by: 'dave', at: now, feedback: 'no', editedArguments: null })).rejects.toBeInstanceOf(ApprovalNotPendingError);
      await expect(store.approvalDecide(stale.itemId, { status: 'approved', by: 'carol', at: now, feedback: null, editedArguments: null })).rejects.toBeInstanceOf(ApprovalExpiredError);
      expect(await store.approvalDecide(stale.itemId, { status: 'expired', by: 'reins', at: now, feedback: null, editedArguments: null })).toMatchObject({ status: 'expired' });
      await expect(store.approvalDecide(`${tag}-none`, { status: 'approved', by: 'x', at: now, feedback: null, editedArguments: null })).rejects.toBeInstanceOf(UnknownApprovalError);
      expect(await store.approvalGet(urgentOld.itemId)).toMatchObject({ status: 'approved' });
      expect(await store.approvalGet(`${tag}-none`)).toBeNull();
      expect((await store.approvalList({ status: 'approved' })).map((i) => i.itemId)).toContain(urgentOld.itemId);
    });

    it('rate limits: one bucket shared by every handle, paced, with a concurrency cap', async () => {
      const key = freshId('rate');
      const peer = await h.peer();
      try {
        // One token a second: the second handle's call comes well within it even on a loaded machine, and then waits as told.
        const policy = { limit: 1, perMs: 1_000 };
        const a = await store.rateAcquire(key, policy, 'w1');
        const b = await peer.rateAcquire(key, policy, 'w2');
        expect(a).toEqual({ granted: true });
        if (b.granted) throw new Error('a second token within the interval');
        expect(b.retryAfterMs).toBeGreaterThan(0);
        expect(b.retryAfterMs).toBeLessThanOrEqual(1_000);
        await sleep(b.retryAfterMs);
        expect(await peer.rateAcquire(key, policy, 'w2')).toEqual({ granted: true });
        const capped = { limit: 1_000, perMs: 1_000, concurrency: 1, slotTtlMs: 10_000 };
        const slotKey = `${key}-slots`;
        expect(await store.rateAcquire(slotKey, capped, 'w1')).toEqual({ granted: true });
        await sleep(5);
        expect((await peer.rateAcquire(slotKey, capped, 'w2')).granted).toBe(false);
        await store.rateRelease(slotKey, 'w1');
        expect(await peer.rateAcquire(slotKey, capped, 'w2')).toEqual({ granted: true });
      } finally {
        await peer.close();
      }
    });

    it('deletes a run with everything beside it, and purges old terminal runs only', async () => {
      const done = freshId();
      const live = freshId();
      await store.create(recordOf(done, 1, { status: 'done', reason: 'COMPLETED', updatedAt: 5 }));
      await store.create(recordOf(live, 1, { updatedAt: 5 }));
      await store.traceAppend(done, [{ at: 1, kind: 'x' }]);
      expect(await store.purge(100)).toBeGreaterThanOrEqual(1);
      expect(await store.load(done)).toBeNull();
      expect(await store.traceRead(done)).toEqual([]);
      expect(await store.load(live)).not.toBeNull();
      await store.delete(live);
      expect(await store.load(live)).toBeNull();
      // Quarantined runs are kept for an operator, however old.
      const bad = freshId();
      await store.create(recordOf(bad, 1, { status: 'done', reason: 'COMPLETED', updatedAt: 5 }));
      await h.corrupt(bad, 'not json');
      await expect(store.load(bad)).rejects.toBeInstanceOf(CorruptRecordError);
      await store.purge(100);
      expect((await store.list({ status: 'quarantined' })).map((s) => s.runId)).toContain(bad);
    });

    it('retire deletes or drops the trace of a done run older than the cut-off, dry runs change nothing, and anything else is ineligible', async () => {
      const old = freshId();
      const recent = freshId();
      const live = freshId();
      await store.create(recordOf(old, 1, { status: 'done', reason: 'COMPLETED', updatedAt: 5 }));
      await store.create(recordOf(recent, 1, { status: 'done', reason: 'COMPLETED', updatedAt: 500 }));
      await store.create(recordOf(live, 1, { updatedAt: 5 }));
      const lease = await store.acquireLease(old, 'w', 60_000);
      await store.transcriptAppend(old, 0, [{ role: 'user', content: 'hi' }], { leaseToken: lease!.token });
      for (const id of [old, recent, live]) await store.traceAppend(id, [{ at: 1, kind: 'x' }, { at: 2, kind: 'y' }]);

      // Dry: the answer it would give, and every byte stays.
      expect(await store.retire({ runId: old, action: 'drop-trace', updatedBefore: 100, dryRun: true })).toBe('trace-dropped');
      expect(await store.retire({ runId: old, action: 'delete', updatedBefore: 100, dryRun: true })).toBe('deleted');
      expect(await store.traceRead(old)).toHaveLength(2);
      expect(await store.load(old)).not.toBeNull();

      // A newer run, a live one, an unknown one: nothing happens to them.
      expect(await store.retire({ runId: recent, action: 'delete', updatedBefore: 100 })).toBe('ineligible');
      expect(await store.retire({ runId: live, action: 'delete', updatedBefore: 100 })).toBe('ineligible');
      expect(await store.retire({ runId: live, action: 'drop-trace', updatedBefore: 100 })).toBe('ineligible');
      expect(await store.retire({ runId: freshId('gone'), action: 'delete', updatedBefore: 100 })).toBe('ineligible');
      for (const id of [recent, live]) expect(await store.traceRead(id)).toHaveLength(2);

      // Dropping the trace keeps the record and the transcript, for this handle and another process's.
      expect(await store.retire({ runId: old, action: 'drop-trace', updatedBefore: 100 })).toBe('trace-dropped');
      const peer = await h.peer();
      try {
        expect(await peer.traceRead(old)).toEqual([]);
        expect(await peer.load(old)).toEqual(recordOf(old, 1, { status: 'done', reason: 'COMPLETED', updatedAt: 5 }));
        expect(await peer.transcriptRead(old)).toEqual([{ role: 'user', content: 'hi' }]);
        expect(await peer.retire({ runId: old, action: 'drop-trace', updatedBefore: 100 })).toBe('no-trace');
      } finally {
        await peer.close();
      }
      expect(await store.traceRead(old)).toEqual([]);
      expect((await store.list({ status: 'done' })).map((s) => s.runId)).toContain(old);

      // Deleting takes the run out of listings too.
      expect(await store.retire({ runId: old, action: 'delete', updatedBefore: 100 })).toBe('deleted');
      expect(await store.load(old)).toBeNull();
      expect((await store.list({ status: 'done' })).map((s) => s.runId)).not.toContain(old);
      expect(await store.retire({ runId: old, action: 'delete', updatedBefore: 100 })).toBe('ineligible');
    });

    it('retire leaves a run that changed since it was listed, and a quarantined run, whatever their age', async () => {
      const id = freshId();
      await store.create(recordOf(id, 1, { status: 'done', reason: 'TIMEOUT', updatedAt: 5 }));
      const listed = (await store.list({ status: 'done' })).find((s) => s.runId === id)!;
      // Between the listing and the retire, the run is written again (a late commit, an operator's repair).
      const lease = await store.acquireLease(id, 'w', 60_000);
      await store.save(recordOf(id, 2, { status: 'done', reason: 'TIMEOUT', updatedAt: 900 }), { leaseToken: lease!.token });
      expect(await store.retire({ runId: id, action: 'delete', updatedBefore: listed.updatedAt + 100 })).toBe('ineligible');
      expect((await store.load(id))?.version).toBe(2);

      const bad = freshId();
      await store.create(recordOf(bad, 1, { status: 'done', reason: 'TOOL_FAILURE', updatedAt: 5 }));
      await store.traceAppend(bad, [{ at: 1, kind: 'x' }]);
      await h.corrupt(bad, 'not json');
      await expect(store.load(bad)).rejects.toBeInstanceOf(CorruptRecordError);
      expect(await store.retire({ runId: bad, action: 'delete', updatedBefore: Number.MAX_SAFE_INTEGER })).toBe('ineligible');
      expect(await store.retire({ runId: bad, action: 'drop-trace', updatedBefore: Number.MAX_SAFE_INTEGER })).toBe('ineligible');
      expect((await store.list({ status: 'quarantined' })).map((s) => s.runId)).toContain(bad);
    });
  });
}
