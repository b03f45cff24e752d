/**
 * The agents of the fleet-api example (what `reins worker --agents` and the
 * console load): `triage` looks a ticket up, checks the order, and answers.
 * Its model is scripted and its tools wait a little, as real ones would, so
 * the example runs with no API key and its runs take a visible moment.
 */
import { z } from 'zod';
import { defineAgent } from '../../agents/define-agent.js';
import { scriptedModel } from '../../agents/scripted-model.js';
import { tool } from '../../agents/tool.js';

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const lookupTicket = tool({
  name: 'lookup_ticket',
  description: 'reads a support ticket',
  input: z.object({ ticket: z.string() }),
  sideEffect: 'none',
  run: async ({ ticket }) => (await pause(150), { ticket, subject: 'parcel late', order: `O-${ticket.replace(/\D/g, '') || '1'}` }),
});

const checkOrder = tool({
  name: 'check_order',
  description: 'reads an order and its shipment',
  input: z.object({ order: z.string() }),
  sideEffect: 'none',
  run: async ({ order }) => (await pause(150), { order, shipped: true, eta: 'tomorrow' }),
});

/** The input of a `triage` run. */
export const TriageInput = z.object({ ticket: z.string().min(1) });
export type TriageInput = z.infer<typeof TriageInput>;

export const triage = defineAgent({
  id: 'triage',
  goal: (input: TriageInput) => `Triage ticket ${input.ticket}`,
  // A scripted model reads what a real one would: the goal in the transcript, then the last tool result.
  model: scriptedModel(({ turn, messages, lastResults }) => {
    if (turn === 1) return { call: 'lookup_ticket', args: { ticket: /Triage ticket ([\w-]+)/.exec(JSON.stringify(messages))?.[1] ?? 'unknown' } };
    if (turn === 2) return { call: 'check_order', args: { order: (JSON.parse(lastResults[0]?.content ?? '{}') as { order?: string }).order ?? 'unknown' } };
    return { answer: 'The parcel shipped; it arrives tomorrow.' };
  }),
  tools: [lookupTicket, checkOrder],
  progress: false,
});

export const agents = [triage];
