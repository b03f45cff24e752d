import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createLogger, defineAgent, scriptedModel, tool } from '../../index.js';

/** Collects pino's JSON lines. */
function sink() {
  const lines: Array<Record<string, unknown>> = [];
  return { lines, destination: { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) } };
}

describe('structured logs', () => {
  it('one line per transition and per call, with the fields on-call needs, and no secrets', async () => {
    const { lines, destination } = sink();
    const logger = createLogger({ level: 'info', redact: ['cardNumber'], destination });
    const charge = tool({
      name: 'charge',
      description: 'charge a card',
      input: z.object({ amount: z.number(), cardNumber: z.string(), apiKey: z.string() }),
      sideEffect: 'idempotent',
      run: ({ amount }) => ({ charged: amount }),
    });
    const agent = defineAgent({
      id: 'billing',
      goal: 'charge 5',
      model: scriptedModel([{ call: 'charge', args: { amount: 5, cardNumber: '4111111111111111', apiKey: 'sk-live-SECRET' } }, { answer: 'done' }]),
      tools: [charge],
      logger,
      redact: ['cardNumber'],
    });
    const run = agent.start({ runId: 'log-1' });
    await run.outcome;
    const transitions = lines.filter((l) => l.msg === 'transition');
    expect(transitions.map((l) => `${String(l.from)}>${String(l.to)}`)).toEqual(['created>planning', 'planning>acting', 'acting>planning', 'planning>completed']);
    for (const t of transitions) expect(t).toMatchObject({ runId: 'log-1', agent: 'billing', lib: 'reins' });
    expect(transitions.at(-1)).toMatchObject({ reason: 'COMPLETED', event: 'xstate.done.actor.model' });
    const toolLines = lines.filter((l) => l.msg === 'tool call');
    expect(toolLines).toHaveLength(1);
    expect(toolLines[0]).toMatchObject({ tool: 'charge', step: 2, attempt: 1, ok: true, input: { amount: 5, cardNumber: '[redacted]', apiKey: '[redacted]' } });
    expect(typeof toolLines[0]!.latencyMs).toBe('number');
    const modelLines = lines.filter((l) => l.msg === 'model call');
    expect(modelLines).toHaveLength(2);
    expect(modelLines[0]).toMatchObject({ model: 'scripted', finishReason: 'tool_calls', decision: 'tool_calls' });
    expect(typeof modelLines[0]!.inputTokens).toBe('number');
    const all = JSON.stringify(lines);
    expect(all).not.toContain('sk-live-SECRET');
    expect(all).not.toContain('4111111111111111');
  });
});
