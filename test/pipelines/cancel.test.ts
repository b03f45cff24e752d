import { describe, expect, it } from 'vitest';
import { definePipeline } from '../../agents/pipeline.js';
import { TerminalOutcome, UnsupportedCommandError, type Agent } from '../../index.js';
import type { SnapshotStore } from '../../persistence/store.js';
import { STORE_CASES } from '../durable/stores.js';
import { faulty } from '../support/faulty-store.js';
import { leaseExpired, until } from '../support/tools.js';
import { callProbe, onCleanup, openSupervisor, workerAgent, type WorkInput } from './support.js';

/** A pipeline that fans out `n` slow children in its `work` stage. */
function slowPipeline(worker: Agent<WorkInput>, n = 3, ms = 5_000, limits?: { maxWallClockMs?: number }) {
  return definePipeline({
    id: 'slow',
    ...(limits ? { limits } : {}),
    stages: {
      work: { agent: worker, children: () => Array.from({ length: n }, (_, i) => ({ key: `c${i}`, input: { name: `c${i}`, ms } })), policy: 'all', next: 'complete' },
    },
  });
}

/** Every descendant of `runId` in the store (children, their children, …), with its typed outcome; none may be unfinished. */
async function descendants(store: SnapshotStore, runId: string): Promise<Array<{ runId: string; parentId: string; outcome: TerminalOutcome }>> {
  const out: Array<{ runId: string; parentId: string; outcome: TerminalOutcome }> = [];
  for (const s of await store.list({ parentId: runId })) {
    expect(s.status, `${s.runId} is finished`).toBe('done');
    out.push({ runId: s.runId, parentId: runId, outcome: TerminalOutcome.parse((await store.load(s.runId))?.outcome) });
    out.push(...(await descendants(store, s.runId)));
  }
  return out;
}

for (const storeCase of STORE_CASES) {
  describe(`no child outlives its parent, on ${storeCase.name}`, () => {
    async function setup() {
      const s = await storeCase.create();
      onCleanup(s.cleanup);
      return s;
    }

    it('killing a pipeline kills every running child: no child call is still running once its outcome resolves', async () => {
      const { open } = await setup();
      const store = await open();
      const probe = callProbe();
      const pipeline = slowPipeline(workerAgent('worker', probe));
      const sup = await openSupervisor(store, [pipeline], 'owner');
      const runId = `kill-${storeCase.name}`;
      const run = await sup.start(pipeline, { runId });
      await until(() => probe.inFlight === 3, 5_000);
      await sup.kill(runId, 'alice', 'runaway');
      const outcome = await run.outcome;
      expect(probe.inFlight, 'child calls still running').toBe(0);
      expect(probe.aborted.sort()).toEqual(['c0', 'c1', 'c2']);
      expect(outcome).toMatchObject({ reason: 'USER_KILLED', by: 'alice', why: 'runaway', state: 'work', stage: 'work', runId, agentId: 'slow' });
      const all = await descendants(store, runId);
      expect(all).toHaveLength(3);
      for (const d of all) expect(d.outcome).toMatchObject({ reason: 'USER_KILLED', by: 'reins', why: `parent ${runId} was killed by alice: runaway`, state: 'acting', tool: 'work' });
      expect((await store.load(runId))?.summary).toMatchObject({ status: 'done', reason: 'USER_KILLED' });
    });

    it('a kill from another process reaches the pipeline’s owner, which kills its children', async () => {
      const { open } = await setup();
      const store = await open();
      const probe = callProbe();
      const pipeline = slowPipeline(workerAgent('worker', probe));
      const owner = await openSupervisor(store, [pipeline], 'owner');
      const operator = await openSupervisor(await open(), [pipeline], 'operator');
      const runId = `remote-kill-${storeCase.name}`;
      const run = await owner.start(pipeline, { runId });
      await until(() => probe.inFlight === 3, 5_000);
      await operator.kill(runId, 'oncall', 'stop it');
      const outcome = await run.outcome;
      expect(probe.inFlight).toBe(0);
      expect(outcome).toMatchObject({ reason: 'USER_KILLED', by: 'oncall', why: 'stop it' });
      for (const d of await descendants(store, runId)) expect(d.outcome).toMatchObject({ reason: 'USER_KILLED', why: `parent ${runId} was killed by oncall: stop it` });
    });

    it('a pipeline that times out kills its children: TIMEOUT names the stage, each child is USER_KILLED naming the parent', async () => {
      const { open } = await setup();
      const store = await open();
      const probe = callProbe();
      const pipeline = slowPipeline(workerAgent('worker', probe), 3, 5_000, { maxWallClockMs: 400 });
      const sup = await openSupervisor(store, [pipeline], 'owner');
      const runId = `timeout-${storeCase.name}`;
      const run = await sup.start(pipeline, { runId });
      const outcome = await run.outcome;
      expect(probe.inFlight, 'child calls still running').toBe(0);
      expect(outcome).toMatchObject({ reason: 'TIMEOUT', deadlineMs: 400, state: 'work', stage: 'work' });
      const all = await descendants(store, runId);
      expect(all.length).toBeGreaterThan(0);
      for (const d of all) expect(d.outcome).toMatchObject({ reason: 'USER_KILLED', by: 'reins', why: `parent ${runId} timed out (deadline 400 ms)` });
    });

    it('killing a pipeline nobody hosts is applied in the store and cascades to every descendant', async () => {
      const { open } = await setup();
      const base = await open();
      const fault = faulty(base);
      const probe = callProbe();
      const pipeline = slowPipeline(workerAgent('worker', probe));
      const owner = await openSupervisor(fault.store, [pipeline], 'owner', 250);
      const runId = `offline-kill-${storeCase.name}`;
      await owner.start(pipeline, { runId });
      await until(async () => (await base.list({ parentId: runId })).length === 3 && probe.inFlight === 3, 5_000);
      fault.set('frozen'); // the owner (and with it the children it hosts) is gone
      await leaseExpired(base, runId);
      for (const c of await base.list({ parentId: runId })) await leaseExpired(base, c.runId);
      const operator = await openSupervisor(base, [pipeline], 'operator', 250);
      await operator.kill(runId, 'oncall', 'abandoned');
      expect((await base.load(runId))?.summary).toMatchObject({ status: 'done', reason: 'USER_KILLED' });
      const all = await descendants(base, runId);
      expect(all).toHaveLength(3);
      for (const d of all) expect(d.outcome).toMatchObject({ reason: 'USER_KILLED', by: 'reins', why: `parent ${runId} killed by oncall: abandoned` });
      expect(operator.runs()).toEqual([]);
    });

    it('killing a pipeline kills its grandchildren through a nested pipeline', async () => {
      const { open } = await setup();
      const store = await open();
      const probe = callProbe();
      const worker = workerAgent('worker', probe);
      const inner = slowPipeline(worker, 2);
      const outer = definePipeline({ id: 'outer', stages: { nest: { agent: inner, input: () => null, next: 'complete' } } });
      const sup = await openSupervisor(store, [outer], 'owner');
      const runId = `nested-${storeCase.name}`;
      const run = await sup.start(outer, { runId });
      await until(() => probe.inFlight === 2, 5_000);
      await sup.kill(runId, 'alice', 'wrong brief');
      const outcome = await run.outcome;
      expect(probe.inFlight).toBe(0);
      expect(outcome).toMatchObject({ reason: 'USER_KILLED', by: 'alice' });
      const all = await descendants(store, runId);
      const innerId = `${runId}.nest.0`;
      expect(all.map((d) => d.runId).sort()).toEqual([innerId, `${innerId}.work.0`, `${innerId}.work.1`]);
      expect(all.find((d) => d.runId === innerId)?.outcome).toMatchObject({ reason: 'USER_KILLED', by: 'reins', why: `parent ${runId} was killed by alice: wrong brief` });
      for (const d of all.filter((x) => x.parentId === innerId)) {
        expect(d.outcome).toMatchObject({ reason: 'USER_KILLED', why: `parent ${innerId} was killed by reins: parent ${runId} was killed by alice: wrong brief` });
      }
    });
  });
}

describe('operator commands on a pipeline (MemoryStore)', () => {
  it('pausing a pipeline pauses its children; resuming it resumes them and the pipeline completes', async () => {
    const { MemoryStore } = await import('../../persistence/memory-store.js');
    const store = new MemoryStore();
    const probe = callProbe();
    const pipeline = slowPipeline(workerAgent('worker', probe), 3, 150);
    const sup = await openSupervisor(store, [pipeline], 'owner');
    const run = await sup.start(pipeline, { runId: 'pause-1' });
    await until(() => probe.inFlight === 3, 5_000);
    await sup.pause('pause-1', 'alice', 'look first');
    expect(run.status()).toMatchObject({ status: 'running', pauseRequested: true });
    await until(async () => (await store.list({ parentId: 'pause-1', status: 'paused' })).length === 3, 5_000);
    for (const c of await store.list({ parentId: 'pause-1' })) {
      expect(sup.getRun(c.runId)?.status().paused).toMatchObject({ by: 'reins', why: 'parent pause-1 paused by alice: look first' });
    }
    await sup.resume('pause-1', 'alice');
    const outcome = await run.outcome;
    expect(outcome.reason).toBe('COMPLETED');
  });

  it('a pipeline takes no approvals: they go to the child that waits', async () => {
    const { MemoryStore } = await import('../../persistence/memory-store.js');
    const store = new MemoryStore();
    const probe = callProbe();
    const pipeline = slowPipeline(workerAgent('worker', probe), 1, 100);
    const sup = await openSupervisor(store, [pipeline], 'owner');
    const run = await sup.start(pipeline, { runId: 'approve-1' });
    await expect(sup.approve('approve-1', 'alice')).rejects.toBeInstanceOf(UnsupportedCommandError);
    await run.outcome;
  });

  it('killing one child of an `all` stage fails the stage naming it; the siblings are killed', async () => {
    const { MemoryStore } = await import('../../persistence/memory-store.js');
    const store = new MemoryStore();
    const probe = callProbe();
    const pipeline = slowPipeline(workerAgent('worker', probe));
    const sup = await openSupervisor(store, [pipeline], 'owner');
    const run = await sup.start(pipeline, { runId: 'childkill' });
    await until(() => probe.inFlight === 3, 5_000);
    await sup.kill('childkill.work.1', 'bob', 'this one is wrong');
    const outcome = await run.outcome;
    expect(probe.inFlight).toBe(0);
    expect(outcome).toMatchObject({ reason: 'USER_KILLED', by: 'bob', why: 'this one is wrong', stage: 'work', childRunId: 'childkill.work.1' });
    for (const id of ['childkill.work.0', 'childkill.work.2']) {
      expect(TerminalOutcome.parse((await store.load(id))?.outcome)).toMatchObject({ reason: 'USER_KILLED', by: 'reins', why: 'parent childkill: sibling childkill.work.1 ended USER_KILLED' });
    }
  });
});
