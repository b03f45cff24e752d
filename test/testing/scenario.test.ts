/** scenario(): mock tools, the virtual clock, approvals and operator steps, on a small agent of its own. */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import '../../testing/vitest.js';
import { defineAgent, scriptedModel, tool } from '../../index.js';
import { MockExhaustedError, mockTool, scenario, toHaveCalled, VirtualClock } from '../../testing/index.js';

const publish = tool({
  name: 'publish',
  description: 'Publishes a post',
  input: z.object({ text: z.string() }),
  sideEffect: 'non-idempotent',
  retry: { maxAttempts: 3, baseDelayMs: 60_000, maxDelayMs: 600_000, jitter: 'equal' },
  approval: { when: ({ text }) => text.includes('launch'), timeoutMs: 60 * 60_000 },
  timeoutMs: 30_000,
  run: () => {
    throw new Error('the real publish must not run in a scenario');
  },
});
const draft = tool({ name: 'draft', description: 'Drafts a post', input: z.object({ topic: z.string() }), sideEffect: 'none', run: ({ topic }) => ({ text: `about ${topic}` }) });

const writer = defineAgent({
  id: 'writer',
  goal: 'Write and publish one post',
  model: scriptedModel([{ answer: 'unused' }]),
  tools: [draft, publish],
  progress: false,
  limits: { maxTurns: 8, maxWallClockMs: 4 * 60 * 60_000 },
});
const post = (text: string) => [{ call: 'draft', args: { topic: 'reins' } }, { call: 'publish', args: { text } }, { answer: 'done' }] as const;

describe('scenario', () => {
  it('runs the agent with its own policies: retries with backoff pass in virtual time, attempts share one logical call', async () => {
    const clock = new VirtualClock();
    const run = await scenario(writer, { clock, model: [...post('hello')], tools: [mockTool('publish', [{ retryable: '503' }, { retryable: '503' }, { returns: { id: 'p1' } }])] });
    expect(run).toEndWith('COMPLETED', { result: 'done' });
    expect(run.callsTo('publish').map((c) => [c.attempt, c.outcome])).toEqual([[1, 'retryable'], [2, 'retryable'], [3, 'ok']]);
    expect(run).toHaveCalled('publish', 1);
    expect(run.effects('publish')).toBe(1);
    expect(new Set(run.callsTo('publish').map((c) => c.logicalCall)).size).toBe(1);
    expect(run).toHaveCalledBefore('draft', 'publish');
    // Two backoffs (at least 30 s and 60 s with equal jitter) went by on the virtual clock, not the real one.
    expect(run.elapsedMs).toBeGreaterThanOrEqual(90_000);
  });

  it('a one-hour approval deadline passes in virtual time and escalates', async () => {
    const started = Date.now();
    const run = await scenario(writer, { model: [...post('launch day')], tools: [mockTool('publish', { returns: { id: 'p1' } })] });
    expect(run).toEndWith('ESCALATED', { by: 'approval-timeout' });
    expect(run).not.toHaveCalled('publish');
    expect(run.elapsedMs).toBeGreaterThanOrEqual(60 * 60_000);
    expect(Date.now() - started).toBeLessThan(60 * 60_000);
  });

  it('an approval given by the script lets the call run', async () => {
    const run = await scenario(writer, { model: [...post('launch day')], tools: [mockTool('publish', { returns: { id: 'p1' } })], approvals: ['approve'] });
    expect(run).toEndWith('COMPLETED');
    expect(run).toHaveCalled('publish', 1);
    const edited = await scenario(writer, { model: [...post('launch day')], tools: [mockTool('publish', { returns: { id: 'p2' } })], approvals: [{ approve: { arguments: { text: 'launch, edited' } } }] });
    expect(edited.callsTo('publish')[0]!.input).toEqual({ text: 'launch, edited' });
  });

  it('a tool that times out is ended by its own timeout; in doubt without reconcile ends ACTION_IN_DOUBT', async () => {
    const timedOut = await scenario(writer, { model: [...post('hello')], tools: [mockTool('publish', 'in-doubt')] });
    expect(timedOut).toEndWith('ACTION_IN_DOUBT', { tool: 'publish' });
    expect(timedOut.effects('publish')).toBe(1);
    const fatal = await scenario(writer, { model: [...post('hello')], tools: [mockTool('publish', { fatal: 'banned' })] });
    expect(fatal).toEndWith('TOOL_FAILURE', { tool: 'publish', errorClass: 'FatalToolError' });
  });

  it('a reconcilable tool in doubt is reconciled from the mock ledger, not repeated', async () => {
    const reconciled = defineAgent({ id: 'writer2', goal: 'post', model: scriptedModel([{ answer: 'x' }]), progress: false, tools: [tool({ name: 'publish', description: 'p', input: z.object({ text: z.string() }), sideEffect: 'non-idempotent', timeoutMs: 1_000, run: () => 1, reconcile: () => ({ applied: false }) })] });
    const run = await scenario(reconciled, { model: [{ call: 'publish', args: { text: 'a' } }, { answer: 'ok' }], tools: [mockTool('publish', 'in-doubt')] });
    expect(run).toEndWith('COMPLETED');
    expect(run.effects('publish')).toBe(1);
    expect(run.callsTo('publish')).toHaveLength(1);
  });

  it('a paused run does not time out; resumed, it finishes', async () => {
    const run = await scenario(writer, {
      model: [...post('hello')],
      tools: [mockTool('publish', { returns: { id: 'p' } })],
      operator: [{ when: 'acting', do: 'pause' }, { do: 'resume', afterMs: 2 * 60 * 60_000 }],
    });
    expect(run).toEndWith('COMPLETED');
    expect(run.elapsedMs).toBeGreaterThanOrEqual(2 * 60 * 60_000);
    expect(run.transitions.map((t) => t.to)).toContain('paused');
  });

  it('a mock asked for more answers than it has fails the call with a typed error; the matchers read without vitest too', async () => {
    const run = await scenario(writer, { model: [...post('hello')], tools: [mockTool('publish', [])] });
    expect(run).toEndWith('TOOL_FAILURE', { errorClass: MockExhaustedError.name });
    expect(toHaveCalled(run, 'publish', 2)).toMatchObject({ pass: false });
    expect(toHaveCalled(run, 'publish', 2).message()).toBe('expected publish to be called 2 times, but it was called 1 time(s)');
  });
});
