import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { definePipeline } from '../../agents/pipeline.js';
import { childRunId, TerminalOutcome, UnknownAgentError } from '../../index.js';
import { RunId } from '../../persistence/run-id.js';
import { MemoryStore } from '../../persistence/memory-store.js';
import { callProbe, openSupervisor, workerAgent } from './support.js';

const probe = callProbe();
const worker = workerAgent('worker', probe);

describe('definePipeline checks the declaration', () => {
  const stage = { agent: worker, input: () => null };
  it.each([
    ['a route to an unknown stage', { a: { ...stage, next: 'nowhere' } }, /route to unknown stage nowhere/],
    ['an unknown guard', { a: { ...stage, next: [{ when: 'nope', to: 'complete' }, { to: 'complete' }] } }, /unknown guard nope/],
    ['a last route with a condition', { a: { ...stage, next: [{ when: 'pauseRequested', to: 'complete' }] } }, /last route must have no condition/],
    ['a reserved stage name', { complete: { ...stage, next: 'complete' } }, /reserved/],
    ['a stage name that cannot be part of a run id', { 'a.b': { ...stage, next: 'complete' } }, /stage names are/],
    ['both input and children', { a: { ...stage, children: () => [], next: 'complete' } }, /either input/],
    ['an unknown policy', { a: { ...stage, policy: 'most', next: 'complete' } }, /stage a/],
    ['an escalation without why', { a: { ...stage, next: [{ to: 'escalate' }] } }, /says why/],
  ])('refuses %s', (_what, stages, message) => {
    expect(() => definePipeline({ id: 'p', stages: stages as never })).toThrow(message);
  });

  it('refuses a user guard with a built-in name', () => {
    expect(() => definePipeline({ id: 'p', stages: { a: { ...stage, next: 'complete' } }, guards: { stageFailed: () => true } })).toThrow(/built in/);
  });

  it('names its guards in the chart, so the inspector shows why a stage went where it went', () => {
    const p = definePipeline({
      id: 'qc',
      stages: {
        qc: { ...stage, next: [{ when: ['qcScoreBelow80', 'refineAttemptsLeft'], to: 'refine' }, { when: { not: 'anyPassed' }, to: 'escalate', why: () => 'x' }, { to: 'complete' }] },
        refine: { ...stage, next: 'qc' },
      },
      guards: { qcScoreBelow80: () => false, refineAttemptsLeft: () => true, anyPassed: () => true },
    });
    const chart = JSON.stringify(p.machine.config);
    for (const name of ['qcScoreBelow80 && refineAttemptsLeft', '!anyPassed', 'stageFailed', 'pauseRequested', 'recordEscalated', 'enterStage']) expect(chart).toContain(JSON.stringify(name));
    expect(Object.keys(p.machine.definition.states.running!.states.work!.states)).toEqual(['start', 'qc', 'refine']);
    expect(p.stages).toEqual(['qc', 'refine']);
  });
});

describe('child run ids', () => {
  it('are derived from the parent, the stage, the item and the visit, within the run-id alphabet', () => {
    expect(childRunId('cat-1', 'qc', 2)).toBe('cat-1.qc.2');
    expect(childRunId('cat-1', 'qc', 2, 3)).toBe('cat-1.qc.2.3');
    const long = `p${'x'.repeat(126)}`;
    const id = childRunId(long, 'generate', 12, 4);
    expect(id.length).toBeLessThanOrEqual(128);
    expect(RunId.safeParse(id).success).toBe(true);
    expect(id.endsWith('.generate.12.4')).toBe(true);
    expect(childRunId(long, 'generate', 12, 4)).toBe(id);
    expect(childRunId(`${long.slice(0, 120)}y`, 'generate', 12, 4)).not.toBe(id);
  });
});

describe('pipelines on a Supervisor', () => {
  it('are started by their object or with startRun; a string start names agents only', async () => {
    const p = definePipeline({ id: 'one', stages: { a: { agent: worker, input: () => ({ name: 'x' }), next: 'complete' } } });
    const sup = await openSupervisor(new MemoryStore(), [p], 'w');
    await expect(sup.start('one')).rejects.toBeInstanceOf(UnknownAgentError);
    const run = await sup.startRun('one', { runId: 'one-1' });
    expect((await run.outcome).reason).toBe('COMPLETED');
    expect(sup.get('one-1')).toBeUndefined();
  });

  it('a child that cannot start is a failure attributed to it', async () => {
    const strict = definePipeline({ id: 'strict', input: z.object({ n: z.number() }), stages: { a: { agent: worker, input: () => ({ name: 'x' }), next: 'complete' } } });
    const p = definePipeline({ id: 'outer', stages: { nest: { agent: strict, input: () => ({ n: 'not a number' }), next: 'complete' } } });
    const store = new MemoryStore();
    const sup = await openSupervisor(store, [p], 'w');
    const outcome = await (await sup.start(p, { runId: 'bad-child' })).outcome;
    expect(outcome).toMatchObject({ reason: 'INTERNAL_ERROR', where: 'start', stage: 'nest', childRunId: 'bad-child.nest.0' });
    expect(await store.list({ parentId: 'bad-child' })).toEqual([]);
  });

  it('a merge that throws, or data that breaks its schema, ends the pipeline INTERNAL_ERROR naming the stage', async () => {
    const thrower = definePipeline({
      id: 'thrower',
      data: { schema: z.object({ n: z.number() }), initial: () => ({ n: 0 }) },
      stages: { a: { agent: worker, input: () => ({ name: 'x' }), merge: () => ({ n: 'NaN' }) as never, next: 'complete' } },
    });
    const store = new MemoryStore();
    const sup = await openSupervisor(store, [thrower], 'w');
    const run = await sup.start(thrower, { runId: 'thrower-1' });
    const outcome = await run.outcome;
    expect(outcome).toMatchObject({ reason: 'INTERNAL_ERROR', stage: 'a', runId: 'thrower-1' });
    expect(TerminalOutcome.parse((await store.load('thrower-1'))?.outcome).reason).toBe('INTERNAL_ERROR');
    expect((await store.load('thrower-1.a.0'))?.summary.reason).toBe('COMPLETED');
  });

  it('observers see the children’s agent runs; the pipeline reports through its outcome', async () => {
    const seen: string[] = [];
    const p = definePipeline({ id: 'watched', stages: { a: { agent: worker, input: () => ({ name: 'x' }), next: 'complete' } } });
    const { Supervisor } = await import('../../agents/supervisor.js');
    const sup = await Supervisor.open({ store: new MemoryStore(), agents: [p], observers: [{ onOutcome: (run, o) => void seen.push(`${run.runId} ${o.reason}`) }] });
    const outcome = await (await sup.start(p, { runId: 'watched-1' })).outcome;
    await sup.close();
    expect(outcome.reason).toBe('COMPLETED');
    expect(seen).toEqual(['watched-1.a.0 COMPLETED']);
  });
});
