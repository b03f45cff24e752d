/** The scripted model speaks the model layer too: a cut-off output, and whether the loop raised the limit. */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineAgent, scriptedModel, tool } from '../../index.js';

const echo = tool({ name: 'echo', description: 'e', input: z.object({ text: z.string() }), sideEffect: 'none', run: ({ text }) => ({ text }) });

describe('scriptedModel and length', () => {
  it('a truncated step is re-asked with the raised limit, which the script can see', async () => {
    const raised: boolean[] = [];
    const model = scriptedModel(({ raisedOutputLimit, lastResults }) => {
      raised.push(raisedOutputLimit);
      if (lastResults.length > 0) return { answer: 'done' };
      return raisedOutputLimit ? { call: 'echo', args: { text: 'a long text' } } : { truncated: '{"text":"a lo', call: 'echo' };
    });
    const outcome = await defineAgent({ id: 'a', goal: 'g', model, tools: [echo] }).run();
    expect(outcome.reason).toBe('COMPLETED');
    expect(raised).toEqual([false, true, false]);
  });

  it('truncated every time ends MODEL_REFUSED with finish reason length', async () => {
    const outcome = await defineAgent({ id: 'a', goal: 'g', model: scriptedModel(() => ({ truncated: 'The answer is' })), compaction: false }).run();
    expect(outcome).toMatchObject({ reason: 'MODEL_REFUSED', finishReason: 'length', tried: ['raised-output-limit'] });
  });
});
