import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { definePipeline } from '../../agents/pipeline.js';
import type { PipelineRun } from '../../agents/pipeline-run.js';
import { TerminalOutcome, type Agent } from '../../index.js';
import type { SnapshotStore } from '../../persistence/store.js';
import { STORE_CASES } from '../durable/stores.js';
import { faulty } from '../support/faulty-store.js';
import { leaseExpired, until } from '../support/tools.js';
import { callProbe, onCleanup, openSupervisor, workerAgent, type WorkInput } from './support.js';

/** work: four children two at a time (w1 is slow), then one `after` child. */
function pipelineFor(worker: Agent<WorkInput>) {
  return definePipeline({
    id: 'restorable',
    stages: {
      work: {
        agent: worker,
        children: () => [40, 100, 40, 40].map((ms, i) => ({ key: `w${i}`, input: { name: `w${i}`, ms } })),
        policy: 'all',
        concurrency: 2,
        next: 'after',
      },
      after: { agent: worker, input: () => ({ name: 'after', ms: 10 }), next: 'complete' },
    },
  });
}

async function doneChildren(store: SnapshotStore, parentId: string): Promise<string[]> {
  return (await store.list({ parentId, status: 'done' })).map((s) => s.runId).sort();
}

for (const storeCase of STORE_CASES) {
  describe(`a pipeline restored after a crash resumes its children where they were, on ${storeCase.name}`, () => {
    async function setup() {
      const s = await storeCase.create();
      onCleanup(s.cleanup);
      return s;
    }

    it('children that ended are not run again; the one that was running goes on; the pipeline completes', async () => {
      const { open } = await setup();
      const base = await open();
      const fault = faulty(base);
      // Each "process" has its own definitions (same ids and versions) and its own call counter.
      const probeA = callProbe();
      probeA.hold.add('w1');
      const probeB = callProbe();
      const runId = `restore-${storeCase.name}`;
      const pipelineA = pipelineFor(workerAgent('worker', probeA));
      const a = await openSupervisor(fault.store, [pipelineA], 'A', 300);
      await a.start(pipelineA, { runId });
      // w0, w2, w3 ended and are durable; w1 is inside its call.
      await until(async () => (await doneChildren(base, runId)).length === 3 && probeA.inFlight === 1, 10_000);
      fault.set('frozen'); // A dies
      await leaseExpired(base, runId);
      await leaseExpired(base, `${runId}.work.1`);

      const pipeline = pipelineFor(workerAgent('worker', probeB));
      const b = await openSupervisor(base, [pipeline], 'B', 300);
      // The child is recovered by this call, or adopted by the restored stage first: either way B hosts it.
      const recovered = await b.recoverRuns();
      expect(recovered.map((r) => r.runId)).toContain(runId);
      const run = recovered.find((r) => r.runId === runId) as PipelineRun;
      const outcome = await run.outcome;
      expect(outcome).toMatchObject({ reason: 'COMPLETED', stage: 'after', childRunId: `${runId}.after.0` });
      // Only the interrupted call (idempotent, so re-run) and the next stage ran in B.
      expect(probeB.started.sort()).toEqual(['after', 'w1']);
      expect(run.stages().work!.children.map((c) => [c.childRunId, c.outcome.reason])).toEqual([0, 1, 2, 3].map((i) => [`${runId}.work.${i}`, 'COMPLETED']));
      expect((await base.list({ parentId: runId })).map((s) => s.runId).sort()).toEqual([`${runId}.after.0`, ...[0, 1, 2, 3].map((i) => `${runId}.work.${i}`)]);
      expect(probeB.inFlight).toBe(0);
    });

    it('a child hosted by another worker is awaited where it runs, not taken from it', async () => {
      const { open } = await setup();
      const base = await open();
      const fault = faulty(base);
      const probeA = callProbe();
      probeA.hold.add('w1');
      const probeB = callProbe();
      const probeC = callProbe();
      const runId = `elsewhere-${storeCase.name}`;
      const pipelineA = pipelineFor(workerAgent('worker', probeA));
      const a = await openSupervisor(fault.store, [pipelineA], 'A', 300);
      await a.start(pipelineA, { runId });
      await until(async () => (await doneChildren(base, runId)).length === 3 && probeA.inFlight === 1, 10_000);
      fault.set('frozen');
      await leaseExpired(base, runId);
      await leaseExpired(base, `${runId}.work.1`);
      // C knows only the worker agent: it takes over the child, not the pipeline.
      const c = await openSupervisor(await open(), [workerAgent('worker', probeC)], 'C', 300);
      expect((await c.recoverRuns()).map((r) => r.runId)).toEqual([`${runId}.work.1`]);
      const b = await openSupervisor(await open(), [pipelineFor(workerAgent('worker', probeB))], 'B', 300);
      const [run] = await b.recoverRuns();
      expect(run?.runId).toBe(runId);
      expect((await run!.outcome).reason).toBe('COMPLETED');
      expect(probeC.started).toEqual(['w1']);
      expect(probeB.started).toEqual(['after']);
    });
  });
}

describe('a refine loop restored mid-way keeps its visit counts (MemoryStore)', () => {
  it('child ids and the number of rounds are those of an uninterrupted run', async () => {
    const { MemoryStore } = await import('../../persistence/memory-store.js');
    const base = new MemoryStore();
    const fault = faulty(base);
    const loop = (worker: Agent<WorkInput>) =>
      definePipeline({
        id: 'loop',
        data: { schema: z.object({ round: z.number() }), initial: () => ({ round: 0 }) },
        stages: {
          check: {
            agent: worker,
            input: ({ data }) => ({ name: `check-${data.round}`, ms: data.round === 2 ? 600 : 20, score: 60 + 10 * data.round }),
            merge: (data) => ({ round: data.round + 1 }),
            next: [{ when: ['scoreBelow80', 'roundsLeft'], to: 'refine' }, { to: 'complete' }],
          },
          refine: { agent: worker, input: ({ data }) => ({ name: `refine-${data.round}`, ms: 20 }), next: 'check' },
        },
        guards: {
          scoreBelow80: ({ last }) => last?.children.some((c) => c.outcome.reason === 'COMPLETED' && (c.outcome.result as { score: number }).score < 80) ?? false,
          roundsLeft: ({ visits }) => (visits.refine ?? 0) < 3,
        },
      });
    const probeA = callProbe();
    probeA.hold.add('check-2');
    const loopA = loop(workerAgent('worker', probeA));
    const a = await openSupervisor(fault.store, [loopA], 'A', 250);
    await a.start(loopA, { runId: 'loop-1' });
    await until(() => probeA.started.includes('check-2') && probeA.inFlight === 1, 10_000);
    fault.set('frozen');
    await leaseExpired(base, 'loop-1');
    await leaseExpired(base, 'loop-1.check.0.3');
    const probeB = callProbe();
    const b = await openSupervisor(base, [loop(workerAgent('worker', probeB))], 'B', 250);
    const run = (await b.recoverRuns()).find((r) => r.runId === 'loop-1') as PipelineRun;
    const outcome = await run.outcome;
    expect(outcome).toMatchObject({ reason: 'COMPLETED', stage: 'check', childRunId: 'loop-1.check.0.3' });
    expect(probeB.started).toEqual(['check-2']);
    const ids = (await base.list({ parentId: 'loop-1' })).map((s) => s.runId).sort();
    expect(ids).toEqual(['loop-1.check.0', 'loop-1.check.0.2', 'loop-1.check.0.3', 'loop-1.refine.0', 'loop-1.refine.0.2']);
    for (const id of ids) expect(TerminalOutcome.parse((await base.load(id))?.outcome).reason).toBe('COMPLETED');
  });
});
