/**
 * The AI SDK adapter, tested with the SDK's own mock language model
 * (MockLanguageModelV3 from ai/test): every run goes through defineAgent and
 * the real lifecycle machine.
 */
import { APICallError } from 'ai';
import type { LanguageModelV3StreamPart } from '@ai-sdk/provider';
import { convertArrayToReadableStream, MockLanguageModelV3 } from 'ai/test';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineAgent, fromAiSdk, TerminalOutcome, tool, type AiSdkLanguageModel, type OutcomeOf, type TerminalReason } from '../../index.js';
import { call, calls, promptLines, result, says, streamOf, text, usage } from './mock.js';

function expectReason<R extends TerminalReason>(outcome: unknown, reason: R): OutcomeOf<R> {
  const parsed = TerminalOutcome.parse(outcome);
  expect(parsed.reason, JSON.stringify(parsed)).toBe(reason);
  return parsed as OutcomeOf<R>;
}

const lookupOrder = () => {
  const seen: string[] = [];
  const def = tool({
    name: 'lookup_order',
    description: 'Status of an order',
    input: z.object({ orderId: z.string() }),
    sideEffect: 'none',
    run: ({ orderId }) => {
      seen.push(orderId);
      return { orderId, status: 'shipped' };
    },
  });
  return { def, seen };
};

/** An agent on a mock model; fast retries so that provider failures do not slow the suite. */
function agentOn(model: AiSdkLanguageModel, options: Parameters<typeof fromAiSdk>[1] = {}, extra: Partial<Parameters<typeof defineAgent>[0]> = {}) {
  const t = lookupOrder();
  const agent = defineAgent({
    id: 'support',
    goal: 'Where is order 42?',
    instructions: 'You are a careful support agent.',
    model: fromAiSdk(model, options),
    tools: [t.def],
    modelRetry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 2 },
    progress: false,
    ...extra,
  });
  return { agent, tool: t };
}

describe('fromAiSdk: a tool-calling loop on the AI SDK mock model', () => {
  it('runs tool calls to COMPLETED: zod schemas go to the provider as JSON Schema, results come back in one tool message', async () => {
    const mock = new MockLanguageModelV3({ doGenerate: [calls(call('lookup_order', { orderId: '42' })), says('Order 42 has shipped.')] });
    const { agent, tool: t } = agentOn(mock);
    const o = expectReason(await agent.run({ runId: 'loop' }), 'COMPLETED');
    expect(o.result).toBe('Order 42 has shipped.');
    expect(t.seen).toEqual(['42']);

    const first = mock.doGenerateCalls[0]!;
    expect(first.toolChoice).toEqual({ type: 'auto' });
    const tools = first.tools!.map((x) => (x.type === 'function' ? { name: x.name, schema: x.inputSchema } : null));
    expect(tools.map((x) => x?.name)).toEqual(['lookup_order', 'reins_give_up', 'reins_escalate']);
    expect(tools[0]!.schema).toMatchObject({ type: 'object', properties: { orderId: { type: 'string' } }, required: ['orderId'] });
    expect(tools[0]!.schema).not.toHaveProperty('$schema');
    expect(first.abortSignal).toBeInstanceOf(AbortSignal);

    expect(promptLines(mock.doGenerateCalls[1]!)).toEqual([
      'system: You are a careful support agent.',
      'user: Where is order 42?',
      'assistant: lookup_order({"orderId":"42"})',
      'tool: lookup_order -> {"orderId":"42","status":"shipped"}',
    ]);
  });

  it('streams the same loop (doStream), text and tool input arriving in pieces', async () => {
    const replies = [calls(call('lookup_order', { orderId: '42' })), says('Shipped yesterday.')];
    let n = 0;
    const mock = new MockLanguageModelV3({ doStream: async () => streamOf(replies[n++]!) });
    const { agent, tool: t } = agentOn(mock, { stream: true });
    const o = expectReason(await agent.run(), 'COMPLETED');
    expect(o.result).toBe('Shipped yesterday.');
    expect(t.seen).toEqual(['42']);
    expect(mock.doStreamCalls).toHaveLength(2);
    expect(mock.doGenerateCalls).toHaveLength(0);
  });

  it('validates tool calls: a call that does not match the zod schema goes back to the model as a hint', async () => {
    const mock = new MockLanguageModelV3({
      doGenerate: [calls(call('lookup_order', { orderId: 42 })), calls(call('lookup_order', { orderId: '42' })), says('Shipped.')],
    });
    const { agent, tool: t } = agentOn(mock);
    expectReason(await agent.run(), 'COMPLETED');
    expect(t.seen).toEqual(['42']);
    const hint = promptLines(mock.doGenerateCalls[1]!).at(-1)!;
    expect(hint).toContain('tool: lookup_order -> Arguments do not match the input schema');
    // The hint is sent as an error result.
    const last = mock.doGenerateCalls[1]!.prompt.at(-1)!;
    expect(last.role === 'tool' && last.content[0]!.type === 'tool-result' && last.content[0]!.output.type).toBe('error-text');
  });

  it('ends through the reserved tools: reins_give_up is INFEASIBLE, reins_escalate ESCALATED, with the model\'s words', async () => {
    const giveUp = agentOn(new MockLanguageModelV3({ doGenerate: [calls(call('reins_give_up', { explanation: 'There is no order 42.' }))] }));
    expect(expectReason(await giveUp.agent.run(), 'INFEASIBLE').explanation).toBe('There is no order 42.');
    const escalate = agentOn(new MockLanguageModelV3({ doGenerate: [calls(call('reins_escalate', { why: 'The customer asks for a legal opinion.' }))] }));
    expect(expectReason(await escalate.agent.run(), 'ESCALATED')).toMatchObject({ by: 'agent', why: 'The customer asks for a legal opinion.' });
  });

  it('structured answers come through reins_answer, validated against the answer schema (with a hint when they do not match)', async () => {
    const answer = z.object({ orderId: z.string(), status: z.enum(['pending', 'shipped', 'delivered']) });
    const mock = new MockLanguageModelV3({
      doGenerate: [
        calls(call('reins_answer', { result: { orderId: '42', status: 'sent' } })),
        result([text('It shipped.')], 'stop', 'stop'),
        calls(call('reins_answer', { result: { orderId: '42', status: 'shipped' } })),
      ],
    });
    const { agent } = agentOn(mock, { answer });
    const o = expectReason(await agent.run(), 'COMPLETED');
    expect(o.result).toEqual({ orderId: '42', status: 'shipped' });
    expect(promptLines(mock.doGenerateCalls[1]!).at(-1)).toContain('at result.status: expected one of "pending", "shipped", "delivered"; got "sent"');
    // Plain text is no answer when answers are structured: the model is nudged to finish properly.
    expect(promptLines(mock.doGenerateCalls[2]!).at(-1)).toContain('neither a tool call nor an answer');
  });

  it('a reserved call made beside other calls ends nothing: the other calls run and the model is told to call it alone', async () => {
    const mock = new MockLanguageModelV3({
      doGenerate: [calls(call('lookup_order', { orderId: '42' }), call('reins_give_up', { explanation: 'meh' })), says('Shipped.')],
    });
    const { agent, tool: t } = agentOn(mock);
    expectReason(await agent.run(), 'COMPLETED');
    expect(t.seen).toEqual(['42']);
    expect(promptLines(mock.doGenerateCalls[1]!).at(-1)).toContain('reins_give_up ends the run only when it is the only call');
  });

  it('supports specification v4 (ai 7) with the same shapes, and refuses v2 at once, saying which versions work', async () => {
    const mock = new MockLanguageModelV3({ doGenerate: [says('Shipped.')] });
    Object.defineProperty(mock, 'specificationVersion', { value: 'v4' });
    expectReason(await agentOn(mock).agent.run(), 'COMPLETED');
    const v2 = new MockLanguageModelV3();
    Object.defineProperty(v2, 'specificationVersion', { value: 'v2' });
    expect(() => fromAiSdk(v2)).toThrow(/specification v2; reins supports v3 and v4/);
  });
});

describe('fromAiSdk: finish reasons lifted to the loop', () => {
  it('content-filter ends MODEL_REFUSED with the provider finish reason, raw value and words', async () => {
    const mock = new MockLanguageModelV3({ doGenerate: [result([text('This content was filtered.')], 'content-filter', 'content_filter')] });
    const o = expectReason(await agentOn(mock).agent.run(), 'MODEL_REFUSED');
    expect(o).toMatchObject({ finishReason: 'content_filter', rawFinishReason: 'content_filter', message: 'This content was filtered.', tried: [] });
  });

  it('a refusal (OpenAI: a refusal message over a raw "stop"; Anthropic: raw "refusal") ends MODEL_REFUSED as refusal', async () => {
    const openaiStyle = new MockLanguageModelV3({ doGenerate: [result([text("I'm sorry, I can't help with that.")], 'content-filter', 'stop')] });
    expect(expectReason(await agentOn(openaiStyle).agent.run(), 'MODEL_REFUSED')).toMatchObject({
      finishReason: 'refusal',
      rawFinishReason: 'stop',
      message: "I'm sorry, I can't help with that.",
    });
    const anthropicStyle = new MockLanguageModelV3({ doGenerate: [result([], 'content-filter', 'refusal')] });
    const o = expectReason(await agentOn(anthropicStyle).agent.run(), 'MODEL_REFUSED');
    expect(o).toMatchObject({ finishReason: 'refusal', rawFinishReason: 'refusal' });
    expect(o.message).toContain('gave no message');
  });

  it('length in the middle of a tool call: asked again with a raised output limit, then completes', async () => {
    const mock = new MockLanguageModelV3({
      doGenerate: [result([call('lookup_order', '{"orderId":"4')], 'length', 'length'), calls(call('lookup_order', { orderId: '42' })), says('Shipped.')],
    });
    const { agent, tool: t } = agentOn(mock, { maxOutputTokens: 500 });
    expectReason(await agent.run(), 'COMPLETED');
    expect(t.seen).toEqual(['42']);
    expect(mock.doGenerateCalls.map((c) => c.maxOutputTokens)).toEqual([500, 1000, 500]);
    // The cut-off reply never reached the transcript: the second ask is the first one again.
    expect(promptLines(mock.doGenerateCalls[1]!)).toEqual(promptLines(mock.doGenerateCalls[0]!));
  });

  it('length with the tool call streaming when the output ended (no tool-call part) is a truncation too', async () => {
    const cut = result([call('lookup_order', '{"orderId":"42"}')], 'length', 'max_tokens');
    const replies = [() => streamOf(cut, { dropToolCallParts: true }), () => streamOf(says('Shipped.'))];
    let n = 0;
    const mock = new MockLanguageModelV3({ doStream: async () => replies[n++]!() });
    const { agent, tool: t } = agentOn(mock, { stream: true });
    expectReason(await agent.run(), 'COMPLETED');
    expect(t.seen).toEqual([]);
    expect(mock.doStreamCalls.map((c) => c.maxOutputTokens)).toEqual([undefined, 16_384]);
  });

  it('length again after the raised limit and a compaction ends MODEL_REFUSED (length), saying what was tried', async () => {
    const cut = () => result([call('lookup_order', '{"orderId":"4')], 'length', 'length');
    const history = [1, 2, 3].map((n) => calls(call('lookup_order', { orderId: String(n) }, `c${n}`)));
    const mock = new MockLanguageModelV3({ doGenerate: [...history, cut(), cut(), cut()] });
    const { agent } = agentOn(mock, { maxOutputTokens: 100 }, { compaction: { keepRecentTurns: 1 } });
    const o = expectReason(await agent.run(), 'MODEL_REFUSED');
    expect(o).toMatchObject({ finishReason: 'length', rawFinishReason: 'length', tried: ['raised-output-limit', 'compacted-context'] });
    expect(o.message).toBe("the model's output was cut off at its output limit of 200 tokens in the middle of a call to lookup_order after raised-output-limit and compacted-context");
    // The last ask ran on the compacted context: goal, summary, the kept turn and its result.
    const lines = promptLines(mock.doGenerateCalls[5]!);
    expect(lines[1]).toBe('user: Where is order 42?');
    expect(lines[2]).toMatch(/^user: \[Summary of earlier work/);
    expect(lines.slice(3)).toEqual(['assistant: lookup_order({"orderId":"3"})', 'tool: lookup_order -> {"orderId":"3","status":"shipped"}']);
  });

  it('length twice with nothing to compact (or compaction off) ends at once, not after a wasted call', async () => {
    const cut = () => result([text('The order is')], 'length', 'length');
    const mock = new MockLanguageModelV3({ doGenerate: [cut(), cut(), cut()] });
    const o = expectReason(await agentOn(mock).agent.run(), 'MODEL_REFUSED');
    expect(o).toMatchObject({ finishReason: 'length', tried: ['raised-output-limit'] });
    expect(o.message).toContain('before its answer was complete');
    expect(o.message).toContain('nothing left to compact');
    expect(mock.doGenerateCalls).toHaveLength(2);
    const off = new MockLanguageModelV3({ doGenerate: [cut(), cut(), cut()] });
    expectReason(await agentOn(off, {}, { compaction: false }).agent.run(), 'MODEL_REFUSED');
    expect(off.doGenerateCalls).toHaveLength(2);
  });

  it('length after complete tool calls is no truncation: the calls run, and the finish reason travels with them', async () => {
    const mock = new MockLanguageModelV3({ doGenerate: [result([call('lookup_order', { orderId: '42' })], 'length', 'length'), says('Shipped.')] });
    const { agent, tool: t } = agentOn(mock);
    expectReason(await agent.run(), 'COMPLETED');
    expect(t.seen).toEqual(['42']);
  });
});

describe('fromAiSdk: provider errors go through the model retry, backoff and circuit', () => {
  const apiError = (statusCode: number, message = `HTTP ${statusCode}`) =>
    new APICallError({ message, url: 'https://api.example.test/v1/chat', requestBodyValues: {}, statusCode, responseHeaders: { 'retry-after': '0' } });

  it('a 429 then success completes, after one backoff', async () => {
    let n = 0;
    const mock = new MockLanguageModelV3({
      doGenerate: async () => {
        n++;
        if (n === 1) throw apiError(429, 'Rate limit reached for gpt-4o-mini');
        return says('Shipped.');
      },
    });
    const { agent } = agentOn(mock);
    const run = agent.start();
    const states: string[] = [];
    run.onStatus((s) => states.push(s.state));
    expectReason(await run.outcome, 'COMPLETED');
    expect(mock.doGenerateCalls).toHaveLength(2);
    expect(states).toContain('backingOff');
  });

  it('5xx and network failures are retried until the retry budget is spent: RETRY_LIMIT_REACHED on the model', async () => {
    const mock = new MockLanguageModelV3({
      doGenerate: async () => {
        throw apiError(503, 'Service Unavailable');
      },
    });
    const o = expectReason(await agentOn(mock).agent.run(), 'RETRY_LIMIT_REACHED');
    expect(o).toMatchObject({ tool: 'model', attempts: 3, lastError: { name: 'ModelCallError', message: 'mock-provider 503: Service Unavailable' } });
    const network = new MockLanguageModelV3({
      doGenerate: async () => {
        throw Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }) });
      },
    });
    expect(expectReason(await agentOn(network).agent.run(), 'RETRY_LIMIT_REACHED').lastError.message).toContain('network failure (ECONNRESET)');
  });

  it('a 401 is not retried: TOOL_FAILURE on the model with the provider\'s message', async () => {
    const mock = new MockLanguageModelV3({
      doGenerate: async () => {
        throw apiError(401, 'Incorrect API key provided');
      },
    });
    const o = expectReason(await agentOn(mock).agent.run(), 'TOOL_FAILURE');
    expect(o).toMatchObject({ tool: 'model', errorClass: 'ModelCallError', message: 'mock-provider 401: Incorrect API key provided', circuitOpen: false });
    expect(mock.doGenerateCalls).toHaveLength(1);
  });

  it('an error part in a stream is a provider failure (retried), and an unknown throw is a bug (INTERNAL_ERROR)', async () => {
    let n = 0;
    const broken = new MockLanguageModelV3({
      doStream: async () =>
        ++n === 1
          ? { stream: convertArrayToReadableStream<LanguageModelV3StreamPart>([{ type: 'stream-start', warnings: [] }, { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }]) }
          : streamOf(says('Shipped.')),
    });
    expectReason(await agentOn(broken, { stream: true }).agent.run(), 'COMPLETED');
    expect(broken.doStreamCalls).toHaveLength(2);
    const bug = new MockLanguageModelV3({
      doGenerate: async () => {
        throw new TypeError("Cannot read properties of undefined (reading 'choices')");
      },
    });
    expect(expectReason(await agentOn(bug).agent.run(), 'INTERNAL_ERROR').error.name).toBe('TypeError');
  });

  it('the model circuit opens after consecutive provider failures even with retries left', async () => {
    const mock = new MockLanguageModelV3({
      doGenerate: async () => {
        throw apiError(500);
      },
    });
    const { agent } = agentOn(mock, {}, { modelRetry: { maxAttempts: 10, baseDelayMs: 1, maxDelayMs: 2 }, modelCircuit: { failureThreshold: 2, cooldownMs: 60_000 } });
    expect(expectReason(await agent.run(), 'TOOL_FAILURE')).toMatchObject({ tool: 'model', circuitOpen: true });
    expect(mock.doGenerateCalls).toHaveLength(2);
  });
});

describe('fromAiSdk: usage and cost', () => {
  it('counts input, output, cached and reasoning tokens per call, and prices them by model id', async () => {
    const u = usage(10_000, 2_000, { cacheRead: 4_000, reasoning: 500 });
    const mock = new MockLanguageModelV3({ modelId: 'gpt-4o-mini-2024-07-18', doGenerate: [result([call('lookup_order', { orderId: '42' })], 'tool-calls', 'tool_calls', u), says('Shipped.', u)] });
    const o = expectReason(await agentOn(mock).agent.run(), 'COMPLETED');
    expect(o.usage).toMatchObject({ turns: 2, inputTokens: 20_000, outputTokens: 4_000, cachedInputTokens: 8_000, reasoningTokens: 1_000, costKnown: true });
    // gpt-4o-mini: 0.15 $/M input, 0.075 $/M cached input, 0.6 $/M output (the dated id is priced as its model).
    expect(o.usage.costUsd).toBeCloseTo((12_000 * 0.15 + 8_000 * 0.075 + 4_000 * 0.6) / 1e6, 12);
  });

  it('a model with no price has unknown cost, never zero, and a cost budget cannot be breached by it', async () => {
    const mock = new MockLanguageModelV3({ modelId: 'house-model-7b', doGenerate: [says('Shipped.', usage(50_000, 1_000))] });
    const o = expectReason(await agentOn(mock, {}, { limits: { maxCostUsd: 0.0001 } }).agent.run(), 'COMPLETED');
    expect(o.usage).toMatchObject({ costKnown: false, inputTokens: 50_000 });
  });

  it('a price table overrides the defaults; token totals feed the token budgets', async () => {
    let n = 0;
    const mock = new MockLanguageModelV3({
      modelId: 'house-model-7b',
      doGenerate: async () => {
        n++;
        return calls(call('lookup_order', { orderId: String(n) }, `c${n}`));
      },
    });
    const priced = agentOn(mock, {}, { prices: { 'house-model-7b': { inputPerMTok: 1_000, outputPerMTok: 1_000 } }, limits: { maxCostUsd: 0.3 } });
    const o = expectReason(await priced.agent.run(), 'BUDGET_EXCEEDED');
    expect(o).toMatchObject({ budget: 'costUsd', limit: 0.3 });
    expect(o.used).toBeCloseTo(0.36, 10);
    const tokens = agentOn(new MockLanguageModelV3({ doGenerate: async () => calls(call('lookup_order', { orderId: '1' })) }), {}, { limits: { maxTotalTokens: 250 } });
    expect(expectReason(await tokens.agent.run(), 'BUDGET_EXCEEDED')).toMatchObject({ budget: 'totalTokens', limit: 250, used: 360 });
  });
});
