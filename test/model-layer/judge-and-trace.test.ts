/**
 * The model-backed progress judge (structured verdict, own budget, fallback
 * to the heuristic judge) and the finish reason and usage of every call in
 * the durable transcript and trace.
 */
import { APICallError } from 'ai';
import { MockLanguageModelV3 } from 'ai/test';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { heuristicJudge } from '../../guards/progress.js';
import { defineAgent, fromAiSdk, modelJudge, Supervisor, tool, TranscriptEntry, type OutcomeOf } from '../../index.js';
import { MemoryStore } from '../../persistence/memory-store.js';
import { call, calls, promptLines, result, says, usage } from './mock.js';

const poll = tool({ name: 'poll_export', description: 'Status of the export', input: z.object({ n: z.number() }), sideEffect: 'none', run: () => ({ state: 'pending' }) });

/** A worker model that polls forever (each call with a new argument, the same result). */
function poller() {
  let n = 0;
  return new MockLanguageModelV3({ doGenerate: async () => calls(call('poll_export', { n: ++n }, `p${n}`)) });
}

const verdict = (progressing: boolean, why: string, u = usage(400, 40)) => result([call('report_progress', { progressing, why })], 'tool-calls', 'tool_calls', u);

describe('modelJudge', () => {
  it('asks the judge model for a structured verdict, through one required tool; two "no" verdicts end NO_PROGRESS naming the judge', async () => {
    const judgeModel = new MockLanguageModelV3({
      modelId: 'gpt-4o-mini',
      doGenerate: [verdict(false, 'It keeps polling the same pending export.'), verdict(false, 'Still polling; nothing changed.')],
    });
    const agent = defineAgent({
      id: 'exporter',
      goal: 'Wait for the export and report its link.',
      model: fromAiSdk(poller()),
      tools: [poll],
      progress: { everyTurns: 2, maxFailedChecks: 2, judge: modelJudge({ model: fromAiSdk(judgeModel) }) },
      limits: { maxTurns: 20 },
    });
    const o = (await agent.run()) as OutcomeOf<'NO_PROGRESS'>;
    expect(o.reason).toBe('NO_PROGRESS');
    expect(o.verdict).toEqual({ progressing: false, why: 'Still polling; nothing changed.', judge: 'model:gpt-4o-mini' });
    expect(o.checks).toBe(2);

    const ask = judgeModel.doGenerateCalls[0]!;
    expect(ask.toolChoice).toEqual({ type: 'required' });
    expect(ask.maxOutputTokens).toBe(300);
    expect(ask.tools!.map((t) => t.name)).toEqual(['report_progress']);
    const question = promptLines(ask)[1]!;
    expect(question).toContain('Goal: Wait for the export and report its link.');
    expect(question).toContain('poll_export {"n":2} → same result as before');
    expect(question).toContain('[poll_export result] {"state":"pending"}');
    // The judge's tokens are the run's: 2 × (400 + 40) on top of the worker's 4 calls (100 + 20 each).
    expect(o.usage).toMatchObject({ turns: 4, inputTokens: 4 * 100 + 2 * 400, outputTokens: 4 * 20 + 2 * 40 });
  });

  it('falls back to the heuristic judge when the judge model fails, and when its budget is spent', async () => {
    const failing = new MockLanguageModelV3({
      doGenerate: async () => {
        throw new APICallError({ message: 'Internal error', url: 'https://x.test', requestBodyValues: {}, statusCode: 500 });
      },
    });
    const judge = modelJudge({ model: fromAiSdk(failing) });
    const input = {
      goal: 'g',
      earlierSteps: [{ step: 1, tool: 'poll', argsHash: 'a', resultHash: 'r', ok: true }],
      recentSteps: [{ step: 2, tool: 'poll', argsHash: 'b', resultHash: 'r', ok: true }],
    };
    const failed = await judge(input);
    expect(failed).toMatchObject({ ...heuristicJudge(input), judge: 'heuristic (model:mock-model-id failed: mock-provider 500: Internal error)' });

    const unused = new MockLanguageModelV3({ doGenerate: [verdict(true, 'fine')] });
    const spent = await modelJudge({ model: fromAiSdk(unused), maxTokensPerRun: 1_000 })({ ...input, judgeTokens: 1_000 } as typeof input);
    expect(spent).toMatchObject({ progressing: false, judge: 'heuristic (model:mock-model-id spent its budget: 1000 of 1000 tokens)' });
    expect(unused.doGenerateCalls).toHaveLength(0);
  });

  it('a reply that is no valid verdict falls back too, and its tokens still count', async () => {
    const chatty = new MockLanguageModelV3({ doGenerate: [says('I think it is going fine!', usage(300, 12))] });
    const out = await modelJudge({ model: fromAiSdk(chatty) })({ goal: 'g', earlierSteps: [], recentSteps: [] });
    expect(out).toMatchObject({ progressing: true, judge: 'heuristic (model:mock-model-id gave no valid verdict (it replied answer))', spend: { usage: { inputTokens: 300, outputTokens: 12 } } });
  });

  it('stops judging with the model once its budget per run is spent, in a real run', async () => {
    const judgeModel = new MockLanguageModelV3({ doGenerate: async () => verdict(true, 'progressing', usage(900, 100)) });
    const agent = defineAgent({
      id: 'exporter',
      goal: 'Wait for the export.',
      model: fromAiSdk(poller()),
      tools: [poll],
      progress: { everyTurns: 1, maxFailedChecks: 3, judge: modelJudge({ model: fromAiSdk(judgeModel), maxTokensPerRun: 2_000 }) },
      limits: { maxTurns: 6 },
    });
    const o = await agent.run();
    // 1,000 tokens a verdict: the third check finds 2,000 spent and asks the heuristic judge, which sees nothing new.
    expect(judgeModel.doGenerateCalls).toHaveLength(2);
    expect(o.reason).toBe('NO_PROGRESS');
  });
});

describe('finish reasons and usage in the durable transcript and trace', () => {
  it('every model result carries its finish reason, raw value, usage and cost into the trace; assistant turns keep theirs in the transcript', async () => {
    const mock = new MockLanguageModelV3({
      modelId: 'gpt-4o-mini',
      doGenerate: [result([call('poll_export', { n: 1 })], 'tool-calls', 'tool_use', usage(1_000, 100, { cacheRead: 500 })), says('Done.', usage(1_200, 10))],
    });
    const agent = defineAgent({ id: 'exporter', goal: 'Export.', model: fromAiSdk(mock), tools: [poll], progress: false });
    const store = new MemoryStore();
    const supervisor = await Supervisor.open({ store, agents: [agent], workerId: 'trace-test' });
    const run = await supervisor.start('exporter', { runId: 'traced' });
    expect((await run.outcome).reason).toBe('COMPLETED');
    const trace = await store.traceRead('traced', 1_000);
    const transcript = z.array(TranscriptEntry).parse(await store.transcriptRead('traced'));
    await supervisor.close();

    const models = trace.filter((e) => e.kind === 'model');
    expect(models.map((e) => [e['finishReason'], e['rawFinishReason'], e['decision']])).toEqual([
      ['tool_calls', 'tool_use', 'tool_calls'],
      ['stop', 'stop', 'answer'],
    ]);
    expect(models[0]).toMatchObject({ model: 'gpt-4o-mini', usage: { inputTokens: 1_000, outputTokens: 100, cachedInputTokens: 500 } });
    expect(models[0]!['costUsd']).toBeCloseTo((500 * 0.15 + 500 * 0.075 + 100 * 0.6) / 1e6, 12);
    expect(transcript.find((e) => e.role === 'assistant')).toMatchObject({ finishReason: 'tool_calls', rawFinishReason: 'tool_use' });
  });
});
