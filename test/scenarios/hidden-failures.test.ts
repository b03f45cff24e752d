import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createMetrics } from '../../agents/telemetry/metrics.js';
import { defineAgent, scriptedModel, Supervisor, type ScriptContext, type TerminalOutcome, type ScriptStep } from '../../index.js';
import { MemoryStore } from '../../persistence/memory-store.js';
import { parseExposition, valueOf } from '../telemetry/exposition.js';
import { counted } from '../support/tools.js';

/** An HTTP-style API that answers 200 with `{ success: false }` for the first `failures` calls. */
function flakyApi(failures: number, sideEffect: 'none' | 'idempotent' | 'non-idempotent' = 'none', extra: { failureMeansNothingHappened?: boolean; maxAttempts?: number } = {}) {
  let left = failures;
  return counted({
    name: 'fetch_page',
    description: 'fetch a page',
    input: z.object({ url: z.string() }),
    sideEffect,
    retry: { maxAttempts: extra.maxAttempts ?? 3, baseDelayMs: 1 },
    output: z.object({ success: z.boolean(), body: z.string(), token: z.string().optional() }),
    failsWhen: (r) => (r.success ? null : `the API answered success=false: ${r.body}`),
    ...(extra.failureMeansNothingHappened ? { failureMeansNothingHappened: true } : {}),
    run: ({ url }) => (left-- > 0 ? { success: false, body: 'upstream busy', token: 'tok-SECRET' } : { success: true, body: `contents of ${url}` }),
  });
}

/** Fetches once, then answers with what the last result said (the tool message the model saw). */
const fetchThenAnswer = ({ turn, lastResults }: ScriptContext): ScriptStep =>
  turn === 1 ? { call: 'fetch_page', args: { url: 'https://example.com' } } : { answer: { saw: lastResults[0]?.content ?? '', error: lastResults[0]?.isError ?? false } };

/** What the model saw of the fetch, as fetchThenAnswer reports it in a COMPLETED result. */
function seen(outcome: TerminalOutcome): { saw: string; error: boolean } {
  if (outcome.reason !== 'COMPLETED') throw new Error(`expected COMPLETED, got ${outcome.reason}`);
  return outcome.result as { saw: string; error: boolean };
}

describe('tool outputs are checked: a failure behind a successful response is a failure', () => {
  it('a 200 with an error body is retried like a thrown error, and the run completes on the good result', async () => {
    const api = flakyApi(1);
    const agent = defineAgent({ id: 'reader', goal: 'read the page', model: scriptedModel(fetchThenAnswer), tools: [api.def], progress: false });
    const o = await agent.run({ runId: 'h1' });
    expect(o).toMatchObject({ reason: 'COMPLETED', result: { saw: '{"success":true,"body":"contents of https://example.com"}', error: false } });
    expect(api.calls).toBe(2);
    // Same logical call, a second attempt.
    expect(api.keys).toEqual(['h1:2', 'h1:2']);
    expect(api.attempts).toEqual([1, 2]);
  });

  it('a result that does not parse with the output schema is a failure, with the schema hint', async () => {
    const api = counted({
      name: 'fetch_page',
      description: 'fetch',
      input: z.object({ url: z.string() }),
      sideEffect: 'none',
      retry: { maxAttempts: 1 },
      output: z.object({ body: z.string().min(1) }),
      run: () => ({ body: '' }),
    });
    const agent = defineAgent({ id: 'reader', goal: 'g', model: scriptedModel(fetchThenAnswer), tools: [api.def], progress: false });
    const o = await agent.run({ runId: 'h2' });
    const result = seen(o);
    // Retries spent (one attempt): the model is told, as an error, with the reason, and re-plans.
    expect(result.error).toBe(true);
    expect(result.saw).toContain('Failed after 1 attempt: fetch_page returned a failure: the result does not match the output schema');
    expect(result.saw).toContain('- at body:');
    expect(api.calls).toBe(1);
  });

  it('once its retries are spent, the model sees the reason as an error and re-plans (not RETRY_LIMIT_REACHED)', async () => {
    const api = flakyApi(10, 'none', { maxAttempts: 2 });
    const agent = defineAgent({ id: 'reader', goal: 'g', model: scriptedModel(fetchThenAnswer), tools: [api.def], progress: false });
    const o = await agent.run({ runId: 'h3' });
    expect(o).toMatchObject({ reason: 'COMPLETED', result: { error: true } });
    expect(seen(o).saw).toBe(
      'Failed after 2 attempts: fetch_page returned a failure: the API answered success=false: upstream busy. Change approach, or answer with what you have.',
    );
    expect(api.calls).toBe(2);
  });

  it('a tool that keeps failing in disguise opens its circuit: TOOL_FAILURE', async () => {
    const api = counted({
      name: 'fetch_page',
      description: 'fetch',
      input: z.object({ url: z.string() }),
      sideEffect: 'none',
      retry: { maxAttempts: 2, baseDelayMs: 1 },
      circuit: { failureThreshold: 3 },
      failsWhen: () => 'empty page',
      run: () => ({ html: '' }),
    });
    const model = scriptedModel(({ turn }) => ({ call: 'fetch_page', args: { url: `https://example.com/${turn}` } }));
    const agent = defineAgent({ id: 'reader', goal: 'g', model, tools: [api.def], progress: false });
    const o = await agent.run({ runId: 'h4' });
    expect(o).toMatchObject({ reason: 'TOOL_FAILURE', tool: 'fetch_page', errorClass: 'CircuitOpenError', circuitOpen: true });
    // Two attempts, the model re-plans, the third consecutive failure opens the circuit.
    expect(api.calls).toBe(3);
  });

  it('a non-idempotent tool whose result is rejected is in doubt, never repeated blindly', async () => {
    const api = flakyApi(1, 'non-idempotent');
    const agent = defineAgent({ id: 'reader', goal: 'g', model: scriptedModel(fetchThenAnswer), tools: [api.def], progress: false });
    const o = await agent.run({ runId: 'h5' });
    expect(o).toMatchObject({ reason: 'ACTION_IN_DOUBT', tool: 'fetch_page', idempotencyKey: 'h5:2', error: { name: 'HiddenToolFailure' } });
    expect(api.calls).toBe(1);
  });

  it('…unless the tool declares that a rejected result means nothing happened: then it is retried', async () => {
    const api = flakyApi(1, 'non-idempotent', { failureMeansNothingHappened: true });
    const agent = defineAgent({ id: 'reader', goal: 'g', model: scriptedModel(fetchThenAnswer), tools: [api.def], progress: false });
    expect(await agent.run({ runId: 'h6' })).toMatchObject({ reason: 'COMPLETED', result: { error: false } });
    expect(api.keys).toEqual(['h6:2', 'h6:2']);
    expect(api.attempts).toEqual([1, 2]);
  });

  it('a tool without `output` behaves as before: any value is a result', async () => {
    const api = counted({ name: 'fetch_page', description: 'f', input: z.object({ url: z.string() }), sideEffect: 'none', run: () => ({ success: false }) });
    const agent = defineAgent({ id: 'reader', goal: 'g', model: scriptedModel(fetchThenAnswer), tools: [api.def], progress: false });
    expect(await agent.run()).toMatchObject({ reason: 'COMPLETED', result: { saw: '{"success":false}', error: false } });
    expect(api.calls).toBe(1);
  });
});

describe('a hidden failure in the trace and the metrics', () => {
  const closers: Array<() => Promise<void>> = [];
  afterEach(async () => {
    while (closers.length) await closers.pop()!();
  });

  it('is traced as a failed call with the returned value redacted, and counted as kind="hidden"', async () => {
    const api = flakyApi(1);
    const agent = defineAgent({ id: 'reader', goal: 'g', model: scriptedModel(fetchThenAnswer), tools: [api.def], progress: false });
    const store = new MemoryStore();
    const metrics = createMetrics();
    const supervisor = await Supervisor.open({ store, agents: [agent], workerId: `w-${randomUUID().slice(0, 8)}`, observers: [metrics.observer] });
    closers.push(() => supervisor.close({ timeoutMs: 100 }));
    const run = await supervisor.start('reader', { runId: 'h7' });
    expect((await run.outcome).reason).toBe('COMPLETED');
    const tools = (await store.traceRead('h7')).filter((e) => e.kind === 'tool');
    expect(tools).toHaveLength(2);
    expect(tools[0]).toMatchObject({
      ok: false,
      hidden: true,
      attempt: 1,
      error: 'fetch_page returned a failure: the API answered success=false: upstream busy',
      returned: { success: false, body: 'upstream busy', token: '[redacted]' },
    });
    expect(tools[1]).toMatchObject({ ok: true, attempt: 2 });
    expect(JSON.stringify(tools)).not.toContain('tok-SECRET');
    const e = parseExposition(await metrics.render());
    expect(valueOf(e, 'reins_tool_failures_total', { agent: 'reader', tool: 'fetch_page', kind: 'hidden' })).toBe(1);
    expect(valueOf(e, 'reins_tool_latency_seconds_count', { agent: 'reader', tool: 'fetch_page', ok: 'false' })).toBe(1);
  });
});
