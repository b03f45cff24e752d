import { assign, createActor, fromPromise, setup, toPromise } from 'xstate';
import type { Message, ModelResponse, ToolCall } from '../../machines/model-types.js';
import { echo, echoSchema, clockedModel, GOAL, type CurrentClock, type TurnClock } from '../workload.js';
import { elapsed, type Contender, type RunResult } from './contender.js';

interface RawContext {
  readonly runId: string;
  readonly step: number;
  readonly turns: number;
  readonly pending: readonly ToolCall[];
  readonly result: unknown;
}

/**
 * (b) The same lifecycle as a raw XState 5 actor: planning (model, a
 * fromPromise actor) → acting (tool, a fromPromise actor) → planning …,
 * final on an answer. Written the way one would write it by hand for speed:
 * the transcript lives beside the machine (as reins keeps it beside the
 * snapshot), context holds only counters and the pending calls, no guards
 * beyond "did the model call a tool", no store, no journal, no timeouts.
 */
export const rawAgentMachine = setup({
  types: {
    context: {} as RawContext,
    input: {} as { runId: string },
    output: {} as { result: unknown; turns: number },
  },
  actors: {
    // Bound per run with the run's transcript (machine.provide), as reins binds its actors per run.
    callModel: fromPromise<ModelResponse, { runId: string; step: number }>(async () => {
      throw new Error('callModel is provided per run');
    }),
    callTool: fromPromise<unknown, { runId: string; step: number; calls: readonly ToolCall[] }>(async () => {
      throw new Error('callTool is provided per run');
    }),
  },
  guards: {
    calledTools: ({ event }) => (event as unknown as { output: ModelResponse }).output.type === 'tool_calls',
  },
  actions: {
    nextStep: assign({ step: ({ context }) => context.step + 1 }),
    rememberCalls: assign({ pending: ({ event }) => ((event as unknown as { output: ModelResponse & { type: 'tool_calls' } }).output.calls) }),
    rememberAnswer: assign({ result: ({ event }) => (event as unknown as { output: ModelResponse & { type: 'answer' } }).output.result }),
    countTurn: assign({ turns: ({ context }) => context.turns + 1, pending: () => [] }),
  },
}).createMachine({
  id: 'raw-agent',
  context: ({ input }) => ({ runId: input.runId, step: 0, turns: 0, pending: [], result: null }),
  initial: 'planning',
  states: {
    planning: {
      entry: 'nextStep',
      invoke: {
        id: 'model',
        src: 'callModel',
        input: ({ context }) => ({ runId: context.runId, step: context.step }),
        onDone: [
          { guard: 'calledTools', target: 'acting', actions: 'rememberCalls' },
          { target: 'done', actions: 'rememberAnswer' },
        ],
        onError: { target: 'failed' },
      },
    },
    acting: {
      invoke: {
        id: 'tool',
        src: 'callTool',
        input: ({ context }) => ({ runId: context.runId, step: context.step, calls: context.pending }),
        onDone: { target: 'planning', actions: 'countTurn' },
        onError: { target: 'failed' },
      },
    },
    done: { type: 'final' },
    failed: { type: 'final' },
  },
  output: ({ context }) => ({ result: context.result, turns: context.turns }),
});

/** (b) as a contender. */
export function rawXStateContender(board: CurrentClock): Contender {
  let turns = 0;
  const model = clockedModel(() => turns, board);
  let seq = 0;
  return {
    id: 'xstate',
    label: 'raw XState actor (no supervision, no store)',
    kind: 'baseline',
    async run(n: number, clock: TurnClock): Promise<RunResult> {
      turns = n;
      board.current = clock;
      const runId = `xstate-${++seq}`;
      const t0 = performance.now();
      const transcript: Message[] = [{ role: 'user', content: GOAL }];
      const machine = rawAgentMachine.provide({
        actors: {
          callModel: fromPromise<ModelResponse, { runId: string; step: number }>(async ({ input, signal }) => {
            const response = await model.generate({
              runId: input.runId,
              system: '',
              messages: transcript,
              tools: [echoSchema],
              signal,
              idempotencyKey: `${input.runId}:${input.step}:1`,
            });
            if (response.type === 'tool_calls') transcript.push({ role: 'assistant', content: response.text, toolCalls: response.calls });
            return response;
          }),
          callTool: fromPromise<unknown, { runId: string; step: number; calls: readonly ToolCall[] }>(async ({ input, signal }) => {
            for (const call of input.calls) {
              const out = await echo.run(JSON.parse(call.arguments), { runId: input.runId, idempotencyKey: `${input.runId}:${input.step}`, step: input.step, attempt: 1, deadline: Infinity, signal });
              transcript.push({ role: 'tool', callId: call.id, tool: call.name, content: JSON.stringify(out), isError: false });
            }
            return null;
          }),
        },
      });
      const actor = createActor(machine, { input: { runId } });
      actor.start();
      const output = await toPromise(actor);
      return { ms: elapsed(t0, clock), turns: output.turns, completed: output.turns === n && output.result === 'done' };
    },
    async close() {},
  };
}
