import type { Message } from '../../machines/model-types.js';
import { echo, echoSchema, clockedModel, GOAL, type CurrentClock, type TurnClock } from '../workload.js';
import { elapsed, type Contender, type RunResult } from './contender.js';

/**
 * (a) The floor: a plain loop making the same calls as every other row (the
 * scripted model with the whole transcript, then the echo tool) and keeping
 * the transcript in an array. No states, no store, no checks.
 */
export function floorContender(board: CurrentClock): Contender {
  let turns = 0;
  const model = clockedModel(() => turns, board);
  let seq = 0;
  return {
    id: 'floor',
    label: 'plain TypeScript loop (floor)',
    kind: 'baseline',
    async run(n: number, clock: TurnClock): Promise<RunResult> {
      turns = n;
      board.current = clock;
      const runId = `floor-${++seq}`;
      const signal = new AbortController().signal;
      const t0 = performance.now();
      const messages: Message[] = [{ role: 'user', content: GOAL }];
      let done = 0;
      for (let step = 1; ; step++) {
        const response = await model.generate({ runId, system: '', messages, tools: [echoSchema], signal, idempotencyKey: `${runId}:${step}:1` });
        if (response.type !== 'tool_calls') break;
        messages.push({ role: 'assistant', content: response.text, toolCalls: response.calls });
        for (const call of response.calls) {
          const out = await echo.run(JSON.parse(call.arguments), { runId, idempotencyKey: `${runId}:${step}`, step, attempt: 1, deadline: Infinity, signal });
          messages.push({ role: 'tool', callId: call.id, tool: call.name, content: JSON.stringify(out), isError: false });
        }
        done++;
      }
      return { ms: elapsed(t0, clock), turns: done, completed: done === n };
    },
    async close() {},
  };
}
