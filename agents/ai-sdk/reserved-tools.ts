import { z } from 'zod';
import { tool, type ToolDefinition } from '../tool.js';

/** The names of the tools a real model ends a run with; an agent's own tools cannot take them. */
export const RESERVED = { giveUp: 'reins_give_up', escalate: 'reins_escalate', answer: 'reins_answer' } as const;

/** What a reserved tool "returns" when it was called beside other calls: nothing ends, and the model is told why. */
const callAlone = (name: string) => () => ({
  notRun: `${name} ends the run only when it is the only call in a reply. Wait for your other calls' results, then call ${name} alone.`,
});

/** Which reserved tools an adapter offers: give-up and escalate always; answer when answers are structured (or must be a tool call). */
export function reservedTools(options: { answer: z.ZodType | null }): ToolDefinition[] {
  const defs = [
    tool({
      name: RESERVED.giveUp,
      description:
        'Give up on the task because it cannot be done: impossible, not allowed, or out of reach of your tools. ' +
        'Explain why. This ends the task; call it alone.',
      input: z.object({ explanation: z.string().min(1).describe('Why the task cannot be done, for the person who asked') }),
      sideEffect: 'none',
      run: callAlone(RESERVED.giveUp),
    }),
    tool({
      name: RESERVED.escalate,
      description:
        'Hand the task to a human: it needs a decision, a permission or knowledge you do not have. ' + 'Say what the human must do. This ends the task; call it alone.',
      input: z.object({ why: z.string().min(1).describe('What the human must decide or do, and why') }),
      sideEffect: 'none',
      run: callAlone(RESERVED.escalate),
    }),
  ];
  if (options.answer) {
    defs.push(
      tool({
        name: RESERVED.answer,
        description: 'Finish the task with your final answer. This ends the task; call it alone, after your other calls have returned.',
        input: z.object({ result: options.answer }),
        sideEffect: 'none',
        run: callAlone(RESERVED.answer),
      }),
    );
  }
  return defs;
}
