/** examples/outreach, run as the README says and through its function: approvals, edits, a rejection, an expiry, a shared send limit. */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { APPROVAL_TIMEOUT_MS, outreachAgent, type Outbox } from '../../examples/outreach/agent.js';
import { runOutreach } from '../../examples/outreach/index.js';
import { MemoryStore } from '../../persistence/memory-store.js';
import { scenario, VirtualClock, type ApprovalScript } from '../../testing/index.js';
import '../../testing/vitest.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const dirs: string[] = [];
afterEach(async () => {
  while (dirs.length) await rm(dirs.pop()!, { recursive: true, force: true });
});

const ada = { name: 'Ada', email: 'ada@acme.example', company: 'Acme' };

/** One prospect's run of the outreach agent on a scenario's clock, with its outbox. */
async function outreach(approvals: readonly ApprovalScript[]) {
  const clock = new VirtualClock();
  const store = new MemoryStore({ now: clock.now });
  const outbox: Outbox = { sent: [] };
  return { run: await scenario(outreachAgent(store, outbox), { input: ada, store, clock, approvals }), outbox };
}

describe('the outreach agent, as scenarios', () => {
  it('researches, then sends the approved email once', async () => {
    const { run, outbox } = await outreach(['approve']);
    expect(run).toEndWith('COMPLETED', { result: { to: 'ada@acme.example', subject: 'Acme and runaway agents' } });
    expect(run).toHaveCalledBefore('research_company', 'send_email');
    expect(run).toHaveCalled('send_email', 1);
    expect(outbox.sent.map((s) => s.to)).toEqual(['ada@acme.example']);
  });

  it('sends an edited email as the operator edited it', async () => {
    const subject = 'Ada, a question about your on-call tooling';
    const { run } = await outreach([{ approve: { arguments: { to: ada.email, subject, body: 'Hi Ada.' } } }]);
    expect(run).toEndWith('COMPLETED', { result: { to: ada.email, subject } });
    expect(run.callsTo('send_email').map((c) => c.input)).toEqual([{ to: ada.email, subject, body: 'Hi Ada.' }]);
  });

  it('redrafts a rejected email with the feedback and asks again', async () => {
    const { run } = await outreach([{ reject: 'mention the meetup' }, 'approve']);
    expect(run).toEndWith('COMPLETED');
    expect(run).toHaveCalled('send_email', 1);
    expect((run.callsTo('send_email')[0]!.input as { body: string }).body).toContain('mention the meetup');
  });

  it('escalates an email nobody approves in its window, and never sends it', async () => {
    const { run, outbox } = await outreach(['expire']);
    expect(run).toEndWith('ESCALATED', { by: 'approval-timeout' });
    expect(run).not.toHaveCalled('send_email');
    expect(outbox.sent).toEqual([]);
    expect(run.elapsedMs).toBeGreaterThanOrEqual(APPROVAL_TIMEOUT_MS);
  });
});

describe('examples/outreach', () => {
  it('every email waits for a human; approved, edited, rejected-then-redrafted and expired ones end as typed outcomes; sends keep the per-domain limit', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'reins-outreach-test-'));
    dirs.push(dir);
    const lines: string[] = [];
    const report = await runOutreach(dir, (l) => lines.push(l));
    const byName = Object.fromEntries(report.outcomes.map((o) => [o.prospect, o.outcome]));
    expect(byName.Ada).toMatchObject({ reason: 'COMPLETED', result: { to: 'ada@acme.example', subject: 'Acme and runaway agents' } });
    expect(byName.Grace).toMatchObject({ reason: 'COMPLETED', result: { subject: 'Grace, a question about your on-call tooling' } });
    expect(byName.Linus).toMatchObject({ reason: 'COMPLETED' });
    expect(byName.Alan).toMatchObject({ reason: 'ESCALATED', by: 'approval-timeout', pending: { tool: 'send_email' } });
    expect(Object.values(byName).filter((o) => o.reason === 'COMPLETED')).toHaveLength(5);

    // Five emails went out, once each; Alan's never did.
    expect(report.outbox.map((s) => s.to).sort()).toEqual(['ada@acme.example', 'barbara@acme.example', 'grace@acme.example', 'linus@acme.example', 'margaret@globex.example']);
    // At most 2 per second to acme.example: its four sends are paced 500 ms apart (within the scheduling jitter of a send).
    const acme = report.outbox.filter((s) => s.to.endsWith('@acme.example')).map((s) => s.at).sort((a, b) => a - b);
    for (let i = 1; i < acme.length; i++) expect(acme[i]! - acme[i - 1]!).toBeGreaterThanOrEqual(500 - 25);

    const statuses = report.decided.map((i) => `${i.runId}:${i.status}:${i.decision?.by}`).sort();
    expect(statuses).toEqual([
      'outreach-1-ada:approved:dana',
      'outreach-2-grace:approved:dana',
      'outreach-3-linus:approved:dana',
      'outreach-3-linus:rejected:dana',
      'outreach-4-barbara:approved:dana',
      'outreach-5-alan:expired:reins',
      'outreach-6-margaret:approved:dana',
    ]);
    expect(report.decided.find((i) => i.runId === 'outreach-2-grace')?.decision?.editedArguments).toMatchObject({ subject: 'Grace, a question about your on-call tooling' });
    expect(lines.some((l) => l.includes('waits for the acme.example send limit'))).toBe(true);
  }, 30_000);

  it('runs with the command the README gives', () => {
    const dir = join(tmpdir(), `reins-outreach-cmd-${process.pid}`);
    dirs.push(dir);
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'examples/outreach/index.ts', '--dir', dir], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain('outcomes:');
    expect(result.stdout).toMatch(/Alan\s+ESCALATED/);
    expect(result.stdout.match(/COMPLETED/g)).toHaveLength(5);
  }, 40_000);
});
