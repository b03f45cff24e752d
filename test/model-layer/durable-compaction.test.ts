/**
 * A crash in the middle of a compaction, on a durable run: the marker was
 * appended but the journal never recorded the compaction done. The run
 * recovered by another supervisor re-enters `compacting`, finds its marker,
 * and goes on: one summary, one marker, nothing lost or duplicated.
 */
import { MockLanguageModelV3 } from 'ai/test';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineAgent, fromAiSdk, Supervisor, tool, TranscriptEntry } from '../../index.js';
import { STORE_CASES } from '../durable/stores.js';
import { dyingInsideCommit } from '../support/faulty-store.js';
import { leaseExpired, until } from '../support/tools.js';
import { call, result, says, usage } from './mock.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

for (const storeCase of STORE_CASES) {
  describe(`compaction across a crash on ${storeCase.name}`, () => {
    it('a compaction interrupted after its marker is applied once: no second summary, no lost or repeated message', async () => {
      const { open, cleanup } = await storeCase.create();
      cleanups.push(cleanup);
      const lookup = tool({ name: 'lookup_order', description: 'l', input: z.object({ orderId: z.string() }), sideEffect: 'none', run: ({ orderId }) => ({ orderId }) });
      let n = 0;
      const worker = new MockLanguageModelV3({
        modelId: 'gpt-4o-mini',
        doGenerate: async () => {
          n++;
          const u = usage(n * 2_000, 10);
          return n <= 3 ? result([call('lookup_order', { orderId: String(n) }, `c${n}`)], 'tool-calls', 'tool_calls', u) : says('done', u);
        },
      });
      const summariser = new MockLanguageModelV3({ doGenerate: async () => says('orders 1 and 2 looked up', usage(500, 20)) });
      const agent = defineAgent({
        id: 'orders',
        goal: 'Look up orders 1 to 3.',
        model: fromAiSdk(worker, { contextWindow: 10_000 }),
        tools: [lookup],
        compaction: { threshold: 0.5, keepRecentTurns: 1, summariser: fromAiSdk(summariser) },
        progress: false,
      });
      const runId = `compact-crash-${storeCase.name}`;

      // The first worker dies inside the commit carrying the compaction's result: the marker landed, the result did not.
      const first = dyingInsideCommit(await open(), (c) => c.journalDone.some((d) => d.key.endsWith(':compact')), 'transcript');
      const sup1 = await Supervisor.open({ store: first.store, agents: [agent], workerId: 'w1', leaseMs: 300 });
      await sup1.start('orders', { runId });
      await until(first.died, 5_000);
      await sup1.close({ timeoutMs: 200 });

      const store = await open();
      // The first worker "died" holding the run: its lease runs out before anyone may take the run over.
      await leaseExpired(store, runId);
      const sup2 = await Supervisor.open({ store, agents: [agent], workerId: 'w2', leaseMs: 300 });
      cleanups.push(() => sup2.close({ timeoutMs: 200 }));
      const [recovered] = await sup2.recover();
      const outcome = await recovered!.outcome;
      expect(outcome.reason).toBe('COMPLETED');

      expect(summariser.doGenerateCalls).toHaveLength(1);
      const transcript = z.array(TranscriptEntry).parse(await store.transcriptRead(runId));
      expect(transcript.filter((e) => e.role === 'compaction')).toHaveLength(1);
      expect(transcript.filter((e) => e.role === 'assistant').map((e) => e.role === 'assistant' && e.toolCalls[0]?.id)).toEqual(['c1', 'c2', 'c3']);
      // The summary's tokens were counted once, by the run that went on.
      expect(outcome.usage.inputTokens).toBe(2_000 + 4_000 + 6_000 + 8_000 + 500);
      const trace = await store.traceRead(runId, 1_000);
      expect(trace.filter((e) => e.kind === 'compaction').map((e) => e['repeated'] ?? false)).toEqual([true]);
    }, 20_000);
  });
}
