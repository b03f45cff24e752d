/**
 * Outreach: six prospects written to in parallel by a durable outreach agent
 * on the embedded store (a FileStore folder). Every email waits in the
 * approval queue; an operator (scripted here) approves, edits, rejects with
 * feedback (the agent re-drafts) or lets one expire; approved emails to one
 * domain go out at most 2 a second, shared by every run. Ends with each run's
 * typed outcome.
 *
 *   npx tsx examples/outreach/index.ts [--dir <folder>]
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { approvalQueue, type ListedApproval } from '../../agents/approvals.js';
import { Supervisor } from '../../agents/supervisor.js';
import type { RunObserver, TerminalOutcome } from '../../index.js';
import { FileStore } from '../../persistence/file-store.js';
import type { ApprovalItem } from '../../persistence/records.js';
import { outreachAgent, SEND_LIMIT, type Outbox, type Prospect } from './agent.js';

/** What the operator does with each prospect's emails. */
type Plan = 'approve' | 'edit' | 'reject-then-approve' | 'ignore';

export const PROSPECTS: ReadonlyArray<Prospect & { plan: Plan }> = [
  { name: 'Ada', email: 'ada@acme.example', company: 'Acme', plan: 'approve' },
  { name: 'Grace', email: 'grace@acme.example', company: 'Acme', plan: 'edit' },
  { name: 'Linus', email: 'linus@acme.example', company: 'Acme', plan: 'reject-then-approve' },
  { name: 'Barbara', email: 'barbara@acme.example', company: 'Acme', plan: 'approve' },
  { name: 'Alan', email: 'alan@globex.example', company: 'Globex', plan: 'ignore' },
  { name: 'Margaret', email: 'margaret@globex.example', company: 'Globex', plan: 'approve' },
];

export interface OutreachReport {
  readonly outcomes: ReadonlyArray<{ prospect: string; outcome: TerminalOutcome }>;
  readonly outbox: Outbox['sent'];
  readonly decided: readonly ApprovalItem[];
}

/** Runs the outreach on a FileStore in `dir` and returns what happened; `print` gets the narration. */
export async function runOutreach(dir: string, print: (line: string) => void = console.log): Promise<OutreachReport> {
  const store = new FileStore({ dir });
  const outbox: Outbox = { sent: [] };
  const agent = outreachAgent(store, outbox);
  const queue = approvalQueue({ store, agents: [agent] });
  const started = Date.now();
  const t = () => `${String(Date.now() - started).padStart(5)} ms`;
  // Narration: a run held back by its domain's send limit.
  const narrator: RunObserver = {
    onTransition: (run, transition) => {
      if (transition.to !== 'rateWaiting') return;
      const context = run.actor.getSnapshot().context;
      const to = (context.current?.input as { to?: string } | null)?.to ?? '?';
      print(`${t()}  ${run.runId} waits for the ${to.split('@')[1]} send limit until +${(context.rateRetryAt ?? 0) - started} ms`);
    },
  };
  const supervisor = await Supervisor.open({ store, agents: [agent], observers: [queue.observer, narrator] });
  try {
    print(`store: ${dir} (FileStore)`);
    const runs = await Promise.all(PROSPECTS.map((p, i) => supervisor.start('outreach', { runId: `outreach-${i + 1}-${p.name.toLowerCase()}`, input: p })));
    const planOf = new Map(runs.map((r, i) => [r.runId, PROSPECTS[i]!]));
    const done = Promise.all(runs.map((r) => r.outcome));
    let settled = false;
    void done.then(() => (settled = true));

    // The operator: looks at the queue, most urgent first, and decides.
    const seen = new Set<string>();
    let shown = false;
    while (!settled) {
      const items = await queue.list();
      if (!shown && items.length >= PROSPECTS.length) {
        shown = true;
        print(`${t()}  approval queue (most urgent first):`);
        for (const item of items) print(`           ${describe(item)}`);
      }
      for (const item of items) {
        if (seen.has(item.itemId) || (!shown && items.length < PROSPECTS.length)) continue;
        seen.add(item.itemId);
        await decide(item, planOf.get(item.runId)!);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const outcomes = await done;
    await queue.idle();

    print(`${t()}  sent (at most ${SEND_LIMIT.limit} per ${SEND_LIMIT.perMs} ms per domain):`);
    for (const s of outbox.sent) print(`           +${String(s.at - started).padStart(5)} ms  ${s.to.padEnd(24)} ${s.subject}`);
    const decided = await store.approvalList();
    print('approval records:');
    for (const item of decided) {
      const d = item.decision;
      print(`  ${item.itemId.padEnd(34)} ${item.status.padEnd(9)} by ${d?.by ?? '-'} at +${d ? d.at - started : '-'} ms${d?.feedback ? `: ${d.feedback}` : ''}${d?.editedArguments ? ' (arguments edited)' : ''}`);
    }
    print('outcomes:');
    for (const [i, o] of outcomes.entries()) print(`  ${PROSPECTS[i]!.name.padEnd(9)} ${summary(o)}`);
    return { outcomes: outcomes.map((outcome, i) => ({ prospect: PROSPECTS[i]!.name, outcome })), outbox: outbox.sent, decided };
  } finally {
    queue.close();
    await supervisor.close();
    await store.close();
  }

  async function decide(item: ListedApproval, prospect: Prospect & { plan: Plan }): Promise<void> {
    const args = item.arguments as { to: string; subject: string; body: string };
    switch (prospect.plan) {
      case 'approve':
        await queue.approve(supervisor, item.itemId, 'dana');
        print(`${t()}  dana approved the email to ${args.to}`);
        return;
      case 'edit': {
        const subject = `${prospect.name}, a question about your on-call tooling`;
        await queue.approve(supervisor, item.itemId, 'dana', { arguments: { ...args, subject } });
        print(`${t()}  dana edited the subject to "${subject}" and approved`);
        return;
      }
      case 'reject-then-approve':
        if (!args.body.includes('pilot')) {
          await queue.reject(supervisor, item.itemId, 'dana', 'mention the free pilot for teams under 50 agents');
          print(`${t()}  dana rejected the email to ${args.to}: "mention the free pilot for teams under 50 agents"`);
        } else {
          await queue.approve(supervisor, item.itemId, 'dana');
          print(`${t()}  dana approved the re-drafted email to ${args.to}`);
        }
        return;
      case 'ignore':
        print(`${t()}  nobody decides on the email to ${args.to}: it expires at its deadline`);
        return;
    }
  }
}

function describe(item: ListedApproval): string {
  const args = item.arguments as { to: string; subject: string };
  return `${item.itemId.padEnd(34)} ${item.tool} to ${args.to.padEnd(24)} priority ${item.priority}  age ${item.ageMs} ms  due in ${item.dueInMs} ms`;
}

function summary(o: TerminalOutcome): string {
  switch (o.reason) {
    case 'COMPLETED':
      return `COMPLETED  ${JSON.stringify(o.result)}`;
    case 'ESCALATED':
      return `ESCALATED  by ${o.by}: ${o.why}`;
    default:
      return `${o.reason}  ${JSON.stringify(o)}`;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const at = process.argv.indexOf('--dir');
  const dir = at >= 0 && process.argv[at + 1] ? process.argv[at + 1]! : await mkdtemp(join(tmpdir(), 'reins-outreach-'));
  await runOutreach(dir);
}
