import { trace, type Span, type Tracer } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterEach, expect, it, vi } from 'vitest';
import { otelObserver } from '../../agents/telemetry/otel.js';
import { FLEET, runFleet } from './fleet.js';

// The global tracer provider: none until the last test registers one, and trace.disable() removes it after each test.
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  vi.restoreAllMocks();
  trace.disable();
  while (cleanups.length) await cleanups.pop()!();
});

/** Wraps the global `trace.getTracer` so that every span the observer starts is seen. */
function spyOnSpans(): Span[] {
  const started: Span[] = [];
  const getTracer = trace.getTracer.bind(trace);
  vi.spyOn(trace, 'getTracer').mockImplementation((name: string, version?: string) => {
    const real = getTracer(name, version);
    const spy: Tracer = {
      startSpan: (...args: Parameters<Tracer['startSpan']>) => {
        const span = real.startSpan(...args);
        started.push(span);
        return span;
      },
      startActiveSpan: real.startActiveSpan.bind(real) as Tracer['startActiveSpan'],
    };
    return spy;
  });
  return started;
}

it('with no SDK registered, a fleet starts one non-recording span per run and no call spans', async () => {
  expect(trace.getTracer('probe').startSpan('probe').isRecording()).toBe(false);
  const started = spyOnSpans();
  const observer = otelObserver();
  const { supervisor, runs } = await runFleet([observer]);
  cleanups.push(() => supervisor.close({ timeoutMs: 100 }));
  expect(runs).toHaveLength(FLEET.length);
  // One per run: the call spans were never started, nor their attributes built.
  expect(started).toHaveLength(FLEET.length);
  expect(started.every((s) => !s.isRecording())).toBe(true);

  // What a call costs then: one WeakMap miss. 100,000 calls fit in well under the time of one real tool call.
  const { run, trace: entries } = runs[0]!;
  const call = entries.find((e) => e.kind === 'model')! as unknown as Parameters<NonNullable<typeof observer.onCall>>[1];
  const t0 = performance.now();
  for (let i = 0; i < 100_000; i++) observer.onCall!(run, call);
  expect(performance.now() - t0).toBeLessThan(100);
});

it('the default tracer records once an SDK is registered globally, even for an observer created before', async () => {
  const observer = otelObserver();
  const exporter = new InMemorySpanExporter();
  expect(trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }))).toBe(true);
  const { supervisor, runs } = await runFleet([observer]);
  cleanups.push(() => supervisor.close({ timeoutMs: 100 }));
  const spans = exporter.getFinishedSpans();
  expect(spans.filter((s) => s.attributes['gen_ai.operation.name'] === 'invoke_agent')).toHaveLength(runs.length);
  expect(spans.filter((s) => s.attributes['gen_ai.operation.name'] === 'execute_tool')).toHaveLength(runs.flatMap((r) => r.trace.filter((e) => e.kind === 'tool')).length);
  expect(spans.every((s) => s.instrumentationScope.name === 'reins')).toBe(true);
});
