/**
 * The outreach agent: it researches a prospect's company and writes them one
 * email. `send_email` needs a human's approval (the call waits in the approval
 * queue) and is rate limited per recipient domain, shared by every run on the
 * store; `research_company` is read-only.
 */
import { z } from 'zod';
import { storeRateLimiter } from '../../agents/rate-limits.js';
import { defineAgent, scriptedModel, tool, type Agent, type ScriptContext, type ScriptStep } from '../../index.js';
import type { SnapshotStore } from '../../persistence/store.js';

/** Who to write to. */
export const Prospect = z.object({ name: z.string(), email: z.email(), company: z.string() });
export type Prospect = z.infer<typeof Prospect>;

/** What the fake mail provider accepted, deduplicated by idempotency key as a real one would be. */
export interface Outbox {
  readonly sent: Array<{ key: string; to: string; subject: string; at: number }>;
}

/** The send limit per recipient domain: 2 messages per second (a demo's scale; a minute in production). */
export const SEND_LIMIT = { limit: 2, perMs: 1_000 } as const;
/** How long an operator has to approve one email. */
export const APPROVAL_TIMEOUT_MS = 2_500;

const COMPANY_NOTES: Record<string, string> = {
  Acme: 'Acme runs 40 support agents on three shifts; they asked about on-call tooling at a meetup.',
  Globex: 'Globex is piloting LLM agents for invoice disputes; their CTO posts about runaway costs.',
};

/** The model, scripted: research, draft, re-draft with an operator's feedback, report what was sent. */
function outreachScript(ctx: ScriptContext): ScriptStep {
  const first = ctx.messages[0];
  const prospect = Prospect.parse(JSON.parse(first?.role === 'user' ? first.content.replace(/^Write to /, '') : '{}'));
  const last = ctx.lastResults[0];
  const draft = (extra: string) => ({
    call: 'send_email',
    args: {
      to: prospect.email,
      subject: `${prospect.company} and runaway agents`,
      body: `Hi ${prospect.name}, ${COMPANY_NOTES[prospect.company] ?? ''} reins gives every agent run one typed reason it stopped.${extra}`,
    },
  });
  if (ctx.turn === 1) return { call: 'research_company', args: { company: prospect.company } };
  if (last?.tool === 'research_company') return draft('');
  if (last?.tool === 'send_email' && last.isError && last.content.startsWith('Rejected by')) {
    // The operator's feedback goes into the next draft, which is asked for approval again.
    return draft(` ${last.content.replace(/^Rejected by [^:]+: /, '')}.`);
  }
  if (last?.tool === 'send_email' && !last.isError) {
    const sent = JSON.parse(last.content) as { result?: { subject: string }; subject?: string };
    return { answer: { to: prospect.email, subject: sent.result?.subject ?? sent.subject ?? '' } };
  }
  return { giveUp: `could not write to ${prospect.email}: ${last?.content ?? 'no result'}` };
}

/** The agent, on `store`: its rate limits are the store's, shared with every worker on it. */
export function outreachAgent(store: SnapshotStore, outbox: Outbox): Agent<Prospect> {
  const research = tool({
    name: 'research_company',
    description: 'Notes about a company',
    input: z.object({ company: z.string() }),
    sideEffect: 'none',
    run: ({ company }) => ({ company, notes: COMPANY_NOTES[company] ?? 'no notes' }),
  });
  const sendEmail = tool({
    name: 'send_email',
    description: 'Send one email to a prospect',
    input: z.object({ to: z.email(), subject: z.string().min(3).max(120), body: z.string().max(2_000) }),
    // The provider deduplicates by idempotency key, so repeating a send with the same key is harmless.
    sideEffect: 'idempotent',
    approval: { priority: 5, timeoutMs: APPROVAL_TIMEOUT_MS },
    rateLimit: { key: ({ to }) => to.split('@')[1]!, ...SEND_LIMIT },
    run: ({ to, subject }, ctx) => {
      if (!outbox.sent.some((s) => s.key === ctx.idempotencyKey)) outbox.sent.push({ key: ctx.idempotencyKey, to, subject, at: Date.now() });
      return { to, subject };
    },
  });
  return defineAgent<Prospect>({
    id: 'outreach',
    goal: (p) => `Write to ${JSON.stringify(p)}`,
    instructions: 'Research the prospect company, then write them one short, specific email. A human approves every email.',
    model: scriptedModel(outreachScript),
    tools: [research, sendEmail],
    limits: { maxTurns: 10, maxWallClockMs: 30_000 },
    approval: { onTimeout: 'escalate' },
    rateLimiter: storeRateLimiter(store),
    progress: false,
  });
}
