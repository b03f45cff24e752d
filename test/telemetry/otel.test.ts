import { SpanKind, SpanStatusCode, type HrTime } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it } from 'vitest';
import { groupOf } from '../../machines/outcome.js';
import { Supervisor } from '../../agents/supervisor.js';
import { otelObserver } from '../../agents/telemetry/otel.js';
import { MemoryStore } from '../../persistence/memory-store.js';
import { until } from '../support/tools.js';
import { FLEET, gated, MODEL_ID, runFleet, type FleetRun } from './fleet.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** A tracer whose finished spans land in memory; not registered globally (otel-noop.test.ts covers the global path). */
function memoryTracer() {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  return { tracer: provider.getTracer('reins-test'), spans: () => exporter.getFinishedSpans() };
}

const ms = (t: HrTime) => t[0] * 1e3 + t[1] / 1e6;
const operation = (span: ReadableSpan) => span.attributes['gen_ai.operation.name'];
const isChildOf = (span: ReadableSpan, parent: ReadableSpan) =>
  span.parentSpanContext?.spanId === parent.spanContext().spanId && span.spanContext().traceId === parent.spanContext().traceId;

/** Every attribute name reins may put on a span: GenAI conventions, error.type, and reins.*. */
const ALLOWED = /^(gen_ai\.(operation\.name|provider\.name|agent\.(id|name)|conversation\.id|tool\.(name|type|call\.id)|request\.model|response\.(model|finish_reasons)|usage\.(input_tokens|output_tokens|cache_read\.input_tokens|reasoning\.output_tokens))|error\.type|reins\.[a-z_.]+)$/;

async function tracedFleet() {
  const { tracer, spans } = memoryTracer();
  const { supervisor, runs } = await runFleet([otelObserver({ tracer, providerName: 'scripted-provider' })]);
  cleanups.push(() => supervisor.close({ timeoutMs: 100 }));
  const all = spans();
  const runSpanOf = (run: FleetRun) => {
    const found = all.filter((s) => operation(s) === 'invoke_agent' && s.attributes['reins.run.id'] === run.runId);
    expect(found, run.runId).toHaveLength(1);
    return found[0]!;
  };
  return { all, runs, runSpanOf };
}

describe('OpenTelemetry spans with an SDK', () => {
  it('one invoke_agent span per run, with its terminal reason, group, usage and error status when broken', async () => {
    const { all, runs, runSpanOf } = await tracedFleet();
    expect(all.filter((s) => operation(s) === 'invoke_agent')).toHaveLength(FLEET.length);
    for (const run of runs) {
      const span = runSpanOf(run);
      const group = groupOf(run.outcome.reason);
      expect(span.name).toBe(`invoke_agent ${run.agentId}`);
      expect(span.kind).toBe(SpanKind.INTERNAL);
      expect(span.parentSpanContext).toBeUndefined();
      expect(span.attributes).toMatchObject({
        'gen_ai.operation.name': 'invoke_agent',
        'gen_ai.agent.name': run.agentId,
        'gen_ai.agent.id': run.agentId,
        'gen_ai.conversation.id': run.runId,
        'reins.run.id': run.runId,
        'reins.run.resumed': false,
        'reins.terminal_reason': run.outcome.reason,
        'reins.terminal_group': group,
        'reins.turns': run.outcome.turns,
        'gen_ai.usage.input_tokens': run.outcome.usage.inputTokens,
        'gen_ai.usage.output_tokens': run.outcome.usage.outputTokens,
        'reins.cost_known': run.outcome.usage.costKnown,
      });
      expect(span.attributes['reins.cost_usd']).toBe(run.outcome.usage.costKnown ? run.outcome.usage.costUsd : undefined);
      if (group === 'broken') {
        expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: run.outcome.reason });
        expect(span.attributes['error.type']).toBe(run.outcome.reason);
      } else {
        expect(span.status.code).toBe(SpanStatusCode.UNSET);
        expect(span.attributes['error.type']).toBeUndefined();
      }
      expect(ms(span.endTime)).toBeCloseTo(run.outcome.endedAt, 3);
    }
  });

  it('one execute_tool span per tool call, a child of its run span, timed from the trace, with the model’s call id', async () => {
    const { all, runs, runSpanOf } = await tracedFleet();
    const toolSpans = all.filter((s) => operation(s) === 'execute_tool');
    expect(toolSpans).toHaveLength(runs.flatMap((r) => r.trace.filter((e) => e.kind === 'tool')).length);
    for (const run of runs) {
      const runSpan = runSpanOf(run);
      const mine = toolSpans.filter((s) => isChildOf(s, runSpan));
      const calls = run.trace.filter((e) => e.kind === 'tool');
      expect(mine).toHaveLength(calls.length);
      // The ids the model gave its calls: the scripted model names the one call of its turn n `call_n_0`, and every turn here calls a tool.
      expect(mine.map((s) => s.attributes['gen_ai.tool.call.id']).sort()).toEqual(calls.map((_, i) => `call_${i + 1}_0`).sort());
      for (const [i, call] of calls.entries()) {
        const span = mine.find((s) => s.attributes['reins.step'] === call.step)!;
        expect(span.name).toBe('execute_tool lookup');
        expect(span.kind).toBe(SpanKind.INTERNAL);
        expect(span.attributes).toMatchObject({ 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'lookup', 'gen_ai.tool.type': 'function', 'reins.attempt': call.attempt });
        expect(ms(span.endTime), `call ${i}`).toBeCloseTo(call.at, 3);
        expect(ms(span.duration)).toBeCloseTo(call.latencyMs as number, 3);
        if (call.ok) {
          expect(span.status.code).toBe(SpanStatusCode.UNSET);
        } else {
          expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: 'the order service refused the request' });
          expect(span.attributes['error.type']).toBe('_OTHER');
        }
      }
    }
    expect(toolSpans.filter((s) => s.status.code === SpanStatusCode.ERROR)).toHaveLength(1);
  });

  it('one chat span per model call, a child of its run span, with model, provider, tokens and finish reason', async () => {
    const { all, runs, runSpanOf } = await tracedFleet();
    const chatSpans = all.filter((s) => operation(s) === 'chat');
    expect(chatSpans).toHaveLength(runs.flatMap((r) => r.trace.filter((e) => e.kind === 'model')).length);
    for (const run of runs) {
      const runSpan = runSpanOf(run);
      const calls = run.trace.filter((e) => e.kind === 'model');
      const mine = chatSpans.filter((s) => isChildOf(s, runSpan)).sort((a, b) => (a.attributes['reins.step'] as number) - (b.attributes['reins.step'] as number));
      expect(mine).toHaveLength(calls.length);
      for (const [i, call] of calls.entries()) {
        const span = mine[i]!;
        const usage = call.usage as { inputTokens: number; outputTokens: number };
        expect(span.name).toBe(`chat ${MODEL_ID}`);
        expect(span.kind).toBe(SpanKind.CLIENT);
        expect(span.attributes).toMatchObject({
          'gen_ai.operation.name': 'chat',
          'gen_ai.provider.name': 'scripted-provider',
          'gen_ai.request.model': MODEL_ID,
          'gen_ai.response.model': MODEL_ID,
          'gen_ai.usage.input_tokens': usage.inputTokens,
          'gen_ai.usage.output_tokens': usage.outputTokens,
          'gen_ai.response.finish_reasons': [call.finishReason],
          'reins.step': call.step,
        });
        expect(ms(span.duration)).toBeCloseTo(call.latencyMs as number, 3);
      }
    }
    const refused = runs.find((r) => r.outcome.reason === 'MODEL_REFUSED')!;
    const finishReason = refused.outcome.reason === 'MODEL_REFUSED' ? refused.outcome.finishReason : null;
    expect(chatSpans.find((s) => isChildOf(s, runSpanOf(refused)))!.attributes['gen_ai.response.finish_reasons']).toEqual([finishReason]);
  });

  it('every call span has a run span for parent, and only known attribute names are used', async () => {
    const { all } = await tracedFleet();
    const runSpans = all.filter((s) => operation(s) === 'invoke_agent');
    for (const span of all.filter((s) => operation(s) !== 'invoke_agent')) expect(runSpans.filter((r) => isChildOf(span, r))).toHaveLength(1);
    const names = new Set(all.flatMap((s) => Object.keys(s.attributes)));
    for (const name of names) expect(name).toMatch(ALLOWED);
    expect(names.has('gen_ai.system')).toBe(false);
  });

  it('a resumed run gets a new run span marked resumed, carrying the run id, with its calls as children', async () => {
    const { tracer, spans } = memoryTracer();
    const store = new MemoryStore();
    const observers = [otelObserver({ tracer })];
    const first = await Supervisor.open({ store, agents: [gated], workerId: 'first', observers });
    const run = await first.start(gated.id, { runId: 'resumed-run' });
    await until(() => run.status().status === 'awaiting-approval');
    // This worker stops before the run ends: its span never ends, so it is never exported.
    await first.close();
    const second = await Supervisor.open({ store, agents: [gated], workerId: 'second', observers });
    cleanups.push(() => second.close({ timeoutMs: 100 }));
    await second.approve(run.runId, 'alice');
    const outcome = await second.get(run.runId)!.outcome;
    expect(outcome.reason).toBe('COMPLETED');

    const runSpans = spans().filter((s) => operation(s) === 'invoke_agent');
    expect(runSpans).toHaveLength(1);
    const resumed = runSpans[0]!;
    expect(resumed.attributes).toMatchObject({ 'reins.run.id': 'resumed-run', 'reins.run.resumed': true, 'reins.terminal_reason': 'COMPLETED' });
    const children = spans().filter((s) => isChildOf(s, resumed));
    expect(children.map((s) => s.name).sort()).toEqual([`chat ${MODEL_ID}`, 'execute_tool refund']);
    // The first worker's model call was traced under the span that never ended.
    expect(spans().filter((s) => s.name === `chat ${MODEL_ID}`)).toHaveLength(2);
  });
});
