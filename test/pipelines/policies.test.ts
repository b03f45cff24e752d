import { describe, expect, it } from 'vitest';
import { definePipeline } from '../../agents/pipeline.js';
import type { PipelineRun } from '../../agents/pipeline-run.js';
import { TerminalOutcome, type FanOutPolicy } from '../../index.js';
import type { SnapshotStore } from '../../persistence/store.js';
import { STORE_CASES } from '../durable/stores.js';
import { callProbe, onCleanup, openSupervisor, workerAgent, type CallProbe } from './support.js';

const N = 4;
const POSITIONS = { first: 0, middle: 2, last: N - 1 } as const;

/** A pipeline whose `work` stage fans out N children (child i takes ms[i]; `failAt` fails fast), then one `after` child. */
function fanOutPipeline(probe: CallProbe, policy: FanOutPolicy, concurrency: number, failAt: number | null, ms: readonly number[]) {
  const worker = workerAgent('worker', probe);
  return definePipeline({
    id: 'fan',
    stages: {
      work: {
        agent: worker,
        children: () => ms.map((t, i) => ({ key: `w${i}`, input: { name: `w${i}`, ms: i === failAt ? 30 : t, fail: i === failAt } })),
        policy,
        concurrency,
        next: 'after',
      },
      after: { agent: worker, input: () => ({ name: 'after', ms: 5 }), next: 'complete' },
    },
  });
}

/** Every child of the run, from the store, with its typed outcome: none may be left unfinished. */
async function childOutcomes(store: SnapshotStore, parentId: string): Promise<Map<string, TerminalOutcome>> {
  const out = new Map<string, TerminalOutcome>();
  for (const s of await store.list({ parentId })) {
    expect(s.status, `${s.runId} is finished`).toBe('done');
    out.set(s.runId, TerminalOutcome.parse((await store.load(s.runId))?.outcome));
  }
  return out;
}

async function runPipeline(store: SnapshotStore, probe: CallProbe, policy: FanOutPolicy, concurrency: number, failAt: number | null, ms: readonly number[], runId: string) {
  const pipeline = fanOutPipeline(probe, policy, concurrency, failAt, ms);
  const sup = await openSupervisor(store, [pipeline], 'w');
  const run: PipelineRun = await sup.start(pipeline, { runId });
  const outcome = await run.outcome;
  // Structured concurrency: the pipeline's outcome comes only once no child call is running any more.
  expect(probe.inFlight, 'child calls still running after the pipeline ended').toBe(0);
  return { run, outcome, children: await childOutcomes(store, runId) };
}

describe('fan-out stages on MemoryStore: a failure injected at each position', () => {
  for (const [where, at] of Object.entries(POSITIONS)) {
    for (const concurrency of [N, 2]) {
      it(`all (concurrency ${concurrency}), failure ${where}: the stage fails naming the child, the running siblings are killed, none starts after`, async () => {
        const { MemoryStore } = await import('../../persistence/memory-store.js');
        const store = new MemoryStore();
        const probe = callProbe();
        const runId = `all-${where}-${concurrency}`;
        const { run, outcome, children } = await runPipeline(store, probe, 'all', concurrency, at, [400, 400, 400, 400], runId);
        const failedId = `${runId}.work.${at}`;
        expect(outcome).toMatchObject({ reason: 'TOOL_FAILURE', tool: 'work', message: `w${at} broke`, stage: 'work', childRunId: failedId, agentId: 'fan', runId });
        expect(children.get(failedId)?.reason).toBe('TOOL_FAILURE');
        const stage = run.stages().work!;
        expect(stage).toMatchObject({ status: 'failed', policy: 'all', decidedBy: { childRunId: failedId, index: at, key: `w${at}` } });
        expect(stage.why).toBe(`stage work (all): ${failedId} ended TOOL_FAILURE`);
        // Every item is accounted for: run (with its own outcome) or never started.
        expect([...stage.children.map((c) => c.index), ...stage.skipped.map((s) => s.index)].sort()).toEqual([0, 1, 2, 3]);
        for (const child of stage.children) {
          if (child.index === at) continue;
          if (child.cancelled) {
            expect(child.outcome).toMatchObject({ reason: 'USER_KILLED', by: 'reins' });
            expect((child.outcome as { why: string }).why).toBe(`parent ${runId}: sibling ${failedId} ended TOOL_FAILURE`);
          } else expect(child.outcome.reason).toBe('COMPLETED');
        }
        if (concurrency === N) expect(stage.children.filter((c) => c.cancelled)).toHaveLength(N - 1);
        for (const s of stage.skipped) expect(probe.started).not.toContain(`w${s.index}`);
        expect(children.size).toBe(stage.children.length);
        expect(probe.started).not.toContain('after');
      });
    }

    it(`settled, failure ${where}: every child runs to its end; the failure is recorded for that child and the pipeline goes on`, async () => {
      const { MemoryStore } = await import('../../persistence/memory-store.js');
      const store = new MemoryStore();
      const probe = callProbe();
      const runId = `settled-${where}`;
      const { run, outcome, children } = await runPipeline(store, probe, 'settled', 2, at, [60, 60, 60, 60], runId);
      expect(outcome).toMatchObject({ reason: 'COMPLETED', stage: 'after', childRunId: `${runId}.after.0` });
      const stage = run.stages().work!;
      expect(stage).toMatchObject({ status: 'succeeded', decidedBy: null, why: null, skipped: [] });
      expect(stage.children.map((c) => [c.key, c.outcome.reason, c.cancelled])).toEqual(
        [0, 1, 2, 3].map((i) => [`w${i}`, i === at ? 'TOOL_FAILURE' : 'COMPLETED', false]),
      );
      expect(children.get(`${runId}.work.${at}`)).toMatchObject({ reason: 'TOOL_FAILURE', message: `w${at} broke` });
      expect(children.get(`${runId}.after.0`)?.reason).toBe('COMPLETED');
      // The pipeline's spend is its children's.
      expect(outcome.usage.turns).toBe([...children.values()].reduce((n, o) => n + o.turns, 0));
    });

    it(`quorum(2) of 4, failure ${where}: completes once two children completed; the rest are cancelled`, async () => {
      const { MemoryStore } = await import('../../persistence/memory-store.js');
      const store = new MemoryStore();
      const probe = callProbe();
      const runId = `quorum-${where}`;
      const { run, outcome } = await runPipeline(store, probe, { quorum: 2 }, N, at, [100, 250, 1_500, 1_500], runId);
      expect(outcome.reason).toBe('COMPLETED');
      const stage = run.stages().work!;
      expect(stage.status).toBe('succeeded');
      expect(stage.children.filter((c) => c.outcome.reason === 'COMPLETED').length).toBeGreaterThanOrEqual(2);
      const cancelled = stage.children.filter((c) => c.cancelled);
      expect(cancelled.length).toBeGreaterThan(0);
      for (const c of cancelled) expect((c.outcome as { why: string }).why).toBe(`parent ${runId}: quorum(2) reached; no longer needed`);
    });

    it(`quorum(4) of 4, failure ${where}: fails as soon as the quorum is unreachable, naming the child`, async () => {
      const { MemoryStore } = await import('../../persistence/memory-store.js');
      const store = new MemoryStore();
      const probe = callProbe();
      const runId = `quorum4-${where}`;
      const { run, outcome } = await runPipeline(store, probe, { quorum: 4 }, N, at, [400, 400, 400, 400], runId);
      expect(outcome).toMatchObject({ reason: 'TOOL_FAILURE', stage: 'work', childRunId: `${runId}.work.${at}` });
      expect(run.stages().work!.why).toBe(`stage work (quorum(4)): quorum(4) unreachable: 1 of 4 failed, the last ${runId}.work.${at} ended TOOL_FAILURE`);
      expect(run.stages().work!.children.filter((c) => c.cancelled)).toHaveLength(N - 1);
    });
  }
});

for (const storeCase of STORE_CASES.filter((c) => c.name !== 'MemoryStore')) {
  describe(`fan-out stages on ${storeCase.name}`, () => {
    for (const policy of ['all', 'settled', { quorum: 3 }] as FanOutPolicy[]) {
      it(`${JSON.stringify(policy)} with a failure in the middle: typed outcomes per child, none running afterwards`, async () => {
        const s = await storeCase.create();
        onCleanup(s.cleanup);
        const store = await s.open();
        const probe = callProbe();
        const runId = `p-${typeof policy === 'string' ? policy : 'quorum'}-${storeCase.name}`;
        const { outcome, children } = await runPipeline(store, probe, policy, N, 1, [300, 300, 300, 300], runId);
        // quorum(3) of 4 survives one failure; all does not.
        if (policy !== 'all') expect(outcome.reason).toBe('COMPLETED');
        else expect(outcome).toMatchObject({ reason: 'TOOL_FAILURE', stage: 'work', childRunId: `${runId}.work.1` });
        expect(children.get(`${runId}.work.1`)?.reason).toBe('TOOL_FAILURE');
        for (const [id, o] of children) if (id !== `${runId}.work.1`) expect(['COMPLETED', 'USER_KILLED']).toContain(o.reason);
      });
    }
  });
}
