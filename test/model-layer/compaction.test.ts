/**
 * Context management on the AI SDK mock model: compaction past a share of the
 * context window (a visible transition, a marker in the stored transcript, a
 * trace entry), the summariser and its fallback, idempotence across a crash,
 * and goal reminders.
 */
import { APICallError } from 'ai';
import { MockLanguageModelV3 } from 'ai/test';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { compactTranscript, transcriptView } from '../../agents/compaction.js';
import { CompactionPolicy, planCompaction } from '../../guards/compaction.js';
import { defineAgent, fromAiSdk, scriptedModel, Supervisor, tool, TranscriptEntry, type Model, type TerminalOutcome } from '../../index.js';
import { MemoryStore } from '../../persistence/memory-store.js';
import { MemoryTranscriptStore } from '../../persistence/transcript.js';
import { call, calls, promptLines, result, says, usage } from './mock.js';

const lookup = tool({
  name: 'lookup_order',
  description: 'Status of an order',
  input: z.object({ orderId: z.string() }),
  sideEffect: 'none',
  run: ({ orderId }) => ({ orderId, status: `status of ${orderId}` }),
});

/** A model whose n-th call reports n × 2,000 input tokens: with a 10,000-token window and threshold 0.5, the third call fills it. */
function growingModel(finalText = 'All four orders have shipped.') {
  let n = 0;
  return new MockLanguageModelV3({
    modelId: 'gpt-4o-mini',
    doGenerate: async () => {
      n++;
      const u = usage(n * 2_000, 50);
      return n <= 4 ? result([call('lookup_order', { orderId: String(n) }, `c${n}`)], 'tool-calls', 'tool_calls', u) : says(finalText, u);
    },
  });
}

async function supervised(agent: ReturnType<typeof defineAgent>, runId: string) {
  const store = new MemoryStore();
  const supervisor = await Supervisor.open({ store, agents: [agent], workerId: 'compaction-test' });
  const run = await supervisor.start(agent.id, { runId });
  const states: string[] = [];
  run.onStatus((s) => states.push(s.state));
  const outcome: TerminalOutcome = await run.outcome;
  const trace = await store.traceRead(runId, 1_000);
  const transcript = z.array(TranscriptEntry).parse(await store.transcriptRead(runId));
  await supervisor.close();
  return { outcome, trace, transcript, states };
}

describe('compaction past the threshold', () => {
  it('replaces the middle with a digest, keeping the system prompt, the goal and the recent turns; a visible transition and a trace entry', async () => {
    const mock = growingModel();
    const agent = defineAgent({
      id: 'orders',
      goal: 'Check orders 1 to 4.',
      instructions: 'You check orders.',
      model: fromAiSdk(mock, { contextWindow: 10_000 }),
      tools: [lookup],
      compaction: { threshold: 0.5, keepRecentTurns: 1 },
      progress: false,
    });
    const { outcome, trace, transcript, states } = await supervised(agent, 'compact-1');
    expect(outcome.reason).toBe('COMPLETED');

    // Calls 1-3 saw the whole history; the third filled 6,000 of 10,000 tokens, so call 4 reads a compacted one.
    expect(promptLines(mock.doGenerateCalls[3]!)).toEqual([
      'system: You check orders.',
      'user: Check orders 1 to 4.',
      expect.stringMatching(/^user: \[Summary of earlier work, compacted by reins to stay within the context window\] \(digest\)\n/),
      'assistant: lookup_order({"orderId":"3"})',
      'tool: lookup_order -> {"orderId":"3","status":"status of 3"}',
    ]);
    const summary = promptLines(mock.doGenerateCalls[3]!)[2]!;
    expect(summary).toContain('- agent called lookup_order({"orderId":"1"})');
    expect(summary).toContain('→ lookup_order returned: {"orderId":"2","status":"status of 2"}');

    // The transition is in the chart, the run's states and the trace.
    expect(states).toContain('compacting');
    expect(trace.filter((e) => e.kind === 'transition' && e['to'] === 'compacting')).not.toHaveLength(0);
    const compactions = trace.filter((e) => e.kind === 'compaction');
    expect(compactions[0]).toMatchObject({ reason: 'threshold', contextTokens: 6_000, compacted: true, by: 'digest', replaced: 4, messagesBefore: 5, messagesAfter: 2 });

    // The stored transcript keeps every message; the marker says how to read it.
    const markers = transcript.filter((e) => e.role === 'compaction');
    expect(markers[0]).toMatchObject({ role: 'compaction', keep: 1, upTo: 5, by: 'digest', reason: 'threshold' });
    expect(transcript.filter((e) => e.role === 'assistant')).toHaveLength(4);
    // Every later call is past the threshold again, and compacts what came since.
    expect(compactions.map((c) => c['compacted'])).toEqual([true, true]);
  });

  it('uses a summariser model when given, counting its tokens (not turns) in the run', async () => {
    const summariser = new MockLanguageModelV3({ modelId: 'gpt-4o-mini', doGenerate: [says('Orders 1 and 2 are fine.', usage(900, 30)), says('Orders 1-3 are fine.', usage(900, 30))] });
    const agent = defineAgent({
      id: 'orders',
      goal: 'Check orders 1 to 4.',
      model: fromAiSdk(growingModel(), { contextWindow: 10_000 }),
      tools: [lookup],
      compaction: { threshold: 0.5, keepRecentTurns: 1, summariser: fromAiSdk(summariser) },
      progress: false,
    });
    const { outcome, trace } = await supervised(agent, 'compact-2');
    expect(outcome.reason).toBe('COMPLETED');
    expect(outcome.usage.turns).toBe(5);
    // Main calls: 2+4+6+8+10 thousand input tokens; the summariser's two calls add 1,800 input and 60 output.
    expect(outcome.usage.inputTokens).toBe(30_000 + 1_800);
    expect(outcome.usage.outputTokens).toBe(5 * 50 + 60);
    expect(summariser.doGenerateCalls[0]!.tools).toBeUndefined();
    expect(promptLines(summariser.doGenerateCalls[0]!)[1]).toContain('Goal of the agent: Check orders 1 to 4.');
    expect(trace.find((e) => e.kind === 'compaction')).toMatchObject({ by: 'gpt-4o-mini', model: 'gpt-4o-mini', usage: { inputTokens: 900, outputTokens: 30 } });
  });

  it('falls back to the digest when the summariser fails, and says so in the trace', async () => {
    const failing = new MockLanguageModelV3({
      doGenerate: async () => {
        throw new APICallError({ message: 'Overloaded', url: 'https://x.test', requestBodyValues: {}, statusCode: 529 });
      },
    });
    const agent = defineAgent({
      id: 'orders',
      goal: 'Check orders 1 to 4.',
      model: fromAiSdk(growingModel(), { contextWindow: 10_000 }),
      tools: [lookup],
      compaction: { threshold: 0.5, keepRecentTurns: 1, summariser: fromAiSdk(failing) },
      progress: false,
    });
    const { outcome, trace } = await supervised(agent, 'compact-3');
    expect(outcome.reason).toBe('COMPLETED');
    expect(trace.find((e) => e.kind === 'compaction')).toMatchObject({ by: 'digest', fallback: 'the summariser failed: mock-provider 529: Overloaded' });
  });

  it('is off when the context window is unknown (only a truncation compacts then), and with compaction: false', async () => {
    const unknown = defineAgent({ id: 'a', goal: 'g', model: fromAiSdk(new MockLanguageModelV3({ modelId: 'house-model-7b' })), progress: false });
    expect(unknown.spec.compaction).toEqual({ thresholdTokens: null });
    const known = defineAgent({ id: 'a', goal: 'g', model: fromAiSdk(new MockLanguageModelV3({ modelId: 'claude-sonnet-4-20250514' })), progress: false });
    expect(known.spec.compaction).toEqual({ thresholdTokens: 160_000 });
    const off = defineAgent({ id: 'a', goal: 'g', model: fromAiSdk(growingModel()), compaction: false });
    expect(off.spec.compaction).toBeNull();
  });
});

describe('compaction is idempotent per step (durable runs)', () => {
  const policy = CompactionPolicy.parse({ keepRecentTurns: 1 });
  const history = (): TranscriptEntry[] => [
    { role: 'user', content: 'the goal' },
    { role: 'assistant', content: '', toolCalls: [{ id: 'a', name: 'lookup_order', arguments: '{"orderId":"1"}' }] },
    { role: 'tool', callId: 'a', tool: 'lookup_order', content: '{"status":"ok"}', isError: false },
    { role: 'assistant', content: '', toolCalls: [{ id: 'b', name: 'lookup_order', arguments: '{"orderId":"2"}' }] },
    { role: 'tool', callId: 'b', tool: 'lookup_order', content: '{"status":"ok"}', isError: false },
  ];
  const input = { runId: 'r', step: 7, idempotencyKey: 'r:7:compact', goal: 'the goal', reason: 'threshold' as const, contextTokens: 9_000, pendingTurns: 0 };

  it('a re-run of the same step (a crash before its journal entry was done) finds its marker: no second summary, no second bill', async () => {
    const store = new MemoryTranscriptStore<TranscriptEntry>();
    await store.appendStep('r', 1, history());
    let summaries = 0;
    const summariser: Model = {
      id: 'sum',
      generate: async () => {
        summaries++;
        return { type: 'answer', result: 'order 1 is ok', usage: { inputTokens: 100, outputTokens: 10 }, finishReason: 'stop', rawFinishReason: 'stop', modelId: 'sum' };
      },
    };
    const signal = new AbortController().signal;
    const first = await compactTranscript(store, { policy, summariser }, input, signal);
    const again = await compactTranscript(store, { policy, summariser }, input, signal);
    expect(summaries).toBe(1);
    expect(first.result).toMatchObject({ compacted: true, replaced: 2, by: 'sum', spend: { modelId: 'sum' } });
    expect(again.result).toEqual({ ...first.result, replaced: 2 });
    expect(again.repeated).toBe(true);
    const raw = await store.read('r');
    expect(raw.filter((e) => e.role === 'compaction')).toHaveLength(1);
    expect(transcriptView(raw).map((m) => m.role)).toEqual(['user', 'user', 'assistant', 'tool']);
  });

  it('plans never split a call from its results, and never replace the goal', () => {
    const entries = history();
    expect(planCompaction(entries, 1, null)).toEqual({ keep: 1, upTo: 3 });
    expect(planCompaction(entries, 0, null)).toEqual({ keep: 1, upTo: 5 });
    expect(planCompaction(entries, 2, null)).toBeNull();
    expect(planCompaction(entries, 1, { keep: 1, upTo: 3 })).toBeNull();
  });

  it('a second compaction covers the first: the summary of the summary, never two summaries', async () => {
    const store = new MemoryTranscriptStore<TranscriptEntry>();
    await store.appendStep('r', 1, history());
    const signal = new AbortController().signal;
    await compactTranscript(store, { policy, summariser: null }, input, signal);
    await store.appendStep('r', 8, [
      { role: 'assistant', content: '', toolCalls: [{ id: 'c', name: 'lookup_order', arguments: '{"orderId":"3"}' }] },
      { role: 'tool', callId: 'c', tool: 'lookup_order', content: '{"status":"late"}', isError: false },
    ]);
    const second = await compactTranscript(store, { policy, summariser: null }, { ...input, step: 9, idempotencyKey: 'r:9:compact' }, signal);
    expect(second.result.compacted).toBe(true);
    const view = transcriptView(await store.read('r'));
    expect(view.map((m) => m.role)).toEqual(['user', 'user', 'assistant', 'tool']);
    expect(view[1]!.role === 'user' && view[1]!.content).toContain('Earlier:');
    expect(view[1]!.role === 'user' && view[1]!.content).toContain('{"orderId":"2"}');
  });
});

describe('goal reminders', () => {
  it('restate the goal every N turns, as a user message', async () => {
    const seen: string[][] = [];
    const model = scriptedModel(({ turn, messages }) => {
      seen.push(messages.filter((m) => m.role === 'user').map((m) => m.content));
      return turn <= 4 ? { call: 'lookup_order', args: { orderId: String(turn) } } : { answer: 'done' };
    });
    const agent = defineAgent({ id: 'a', goal: 'Check orders 1 to 4.', model, tools: [lookup], goalReminderEveryTurns: 2, progress: false });
    expect((await agent.run()).reason).toBe('COMPLETED');
    const reminders = seen.at(-1)!.filter((c) => c === 'Reminder of your goal: Check orders 1 to 4.');
    // After turns 2 and 4.
    expect(reminders).toHaveLength(2);
    expect(seen[2]!.at(-1)).toBe('Reminder of your goal: Check orders 1 to 4.');
  });

  it('are checked: a non-positive interval is refused at definition', () => {
    expect(() => defineAgent({ id: 'a', goal: 'g', model: scriptedModel([]), goalReminderEveryTurns: 0 })).toThrow(/goalReminderEveryTurns/);
  });
});

describe('transcriptView of a growing transcript', () => {
  it('read turn after turn (kept and extended, not re-walked), it equals a fresh reading, marker included, and every reading is its own copy', () => {
    const grown: TranscriptEntry[] = [];
    const readings: ReturnType<typeof transcriptView>[] = [];
    const fresh = (n: number) => transcriptView(grown.slice(0, n));
    grown.push({ role: 'user', content: 'goal' });
    for (let turn = 1; turn <= 6; turn++) {
      grown.push({ role: 'assistant', content: '', toolCalls: [{ id: `c${turn}`, name: 'lookup_order', arguments: `{"orderId":"${turn}"}` }] });
      grown.push({ role: 'tool', callId: `c${turn}`, tool: 'lookup_order', content: `shipped ${turn}`, isError: false });
      if (turn === 4) grown.push({ role: 'compaction', step: 4, keep: 1, upTo: 5, summary: 'two orders shipped', by: 'digest', reason: 'threshold' });
      const view = transcriptView(grown);
      expect(view).toEqual(fresh(grown.length));
      readings.push(view);
    }
    expect(readings[5]!.map((m) => m.role)).toEqual(['user', 'user', 'assistant', 'tool', 'assistant', 'tool', 'assistant', 'tool', 'assistant', 'tool']);
    expect(readings[0]!.length).toBe(3);
    readings[1]!.pop();
    expect(transcriptView(grown)).toEqual(readings[5]);
  });
});
