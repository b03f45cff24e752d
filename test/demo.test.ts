import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Supervisor } from '../agents/supervisor.js';
import { agents, FLEET, runFleet, scenarioIdOf, type FleetResult } from '../examples/fleet/index.js';
import { OPERATOR } from '../examples/fleet/operator.js';
import { TERMINAL_REASONS, TerminalOutcome, type TerminalOutcome as Outcome } from '../machines/outcome.js';
import { MemoryStore } from '../persistence/memory-store.js';
import { support } from '../examples/fleet/support.js';
import { scenario } from '../testing/index.js';
import '../testing/vitest.js';

/** An outcome without the fields that measure time or name the demo invocation, which no two fleets share. */
function timeless(outcome: Outcome): unknown {
  const prefix = outcome.runId.slice(0, outcome.runId.length - scenarioIdOf(outcome.runId).length);
  const json = JSON.stringify(outcome, (key, value: unknown) => {
    if (['endedAt', 'elapsedMs', 'stack'].includes(key)) return undefined;
    // When a check accepted the answer is a time too.
    return key === 'verified' ? { ...(value as object), at: undefined } : value;
  });
  return JSON.parse(json.split(prefix).join(''));
}

const withControl = (results: readonly FleetResult[], control: string) => results.filter((r) => r.scenario.control === control);

/** Runs the fleet on a fresh supervisor and store, as `reins demo` does. */
async function fleet(options: { prefix: string; concurrency?: number }): Promise<{ results: FleetResult[]; store: MemoryStore }> {
  const store = new MemoryStore();
  const supervisor = await Supervisor.open({ store, agents: [...agents] });
  try {
    return { results: await runFleet({ supervisor, ...options }), store };
  } finally {
    await supervisor.close();
  }
}

describe('the demo fleet', () => {
  let results: FleetResult[];
  let store: MemoryStore;
  beforeAll(async () => {
    ({ results, store } = await fleet({ prefix: 'demo1' }));
  });
  afterAll(async () => {
    await store.close();
  });

  it('has a few dozen runs with fixed, unique ids, on agents registered up front', () => {
    expect(FLEET.length).toBeGreaterThanOrEqual(36);
    expect(new Set(FLEET.map((s) => s.id)).size).toBe(FLEET.length);
    expect(results.map((r) => r.runId)).toEqual(FLEET.map((s) => `demo1.${s.id}`));
    const registered = new Set(agents.map((a) => a.id));
    expect(FLEET.every((s) => registered.has(s.agentId))).toBe(true);
  });

  it('ends every run with exactly the reason its scenario was designed for', () => {
    expect(results.map((r) => `${r.scenario.id} ${r.outcome.reason}`)).toEqual(FLEET.map((s) => `${s.id} ${s.expected}`));
    expect(results.every((r) => r.asDesigned)).toBe(true);
  });

  it('covers all 14 terminal reasons', () => {
    expect(new Set(results.map((r) => r.outcome.reason))).toEqual(new Set(TERMINAL_REASONS));
    expect(TERMINAL_REASONS).toHaveLength(14);
  });

  it('catches a page fetched as HTTP 200 with an error body, retries it, and completes on the real page', async () => {
    const [run, ...others] = results.filter((r) => r.scenario.goal.includes('busy.example'));
    expect(others).toEqual([]);
    expect(run!.outcome.reason).toBe('COMPLETED');
    const fetches = (await store.traceRead(run!.runId)).filter((e) => e.kind === 'tool' && e.tool === 'fetch_page');
    expect(fetches.map((e) => [e.attempt, e.ok, e['hidden'] ?? false])).toEqual([
      [1, false, true],
      [2, true, false],
    ]);
    expect(fetches[0]!.error).toBe('fetch_page returned a failure: the site answered 200 with an error body: {"success":false,"message":"upstream busy"}');
  });

  it('rejects an agent that claims half the job, which then finishes it; one that never gets it right ends RESULT_REJECTED', async () => {
    const checked = results.filter((r) => r.scenario.agentId === 'coding-checked');
    expect(checked.map((r) => r.outcome.reason)).toEqual(['COMPLETED', 'RESULT_REJECTED']);
    const [fixed, rejected] = checked.map((r) => r.outcome);
    expect(fixed).toMatchObject({ reason: 'COMPLETED', verified: { by: 'unit-tests', attempts: 2 }, turns: 6 });
    const verdicts = (await store.traceRead(checked[0]!.runId)).filter((e) => e.kind === 'verify');
    expect(verdicts.map((e) => [e['accepted'], e['why'] ?? null])).toEqual([
      [false, 'the unit tests still fail: strings: slugify replaces every space'],
      [true, null],
    ]);
    expect(rejected).toMatchObject({
      reason: 'RESULT_REJECTED',
      check: 'unit-tests',
      answer: { failing: 0, note: 'all green' },
      reasons: ['the unit tests still fail: strings: slugify replaces every space', 'the unit tests still fail: strings: slugify replaces every space'],
      attempts: 2,
    });
  });

  it('produces outcomes that parse as TerminalOutcome and belong to their run', () => {
    for (const { runId, scenario, outcome } of results) {
      expect(TerminalOutcome.parse(outcome)).toEqual(outcome);
      expect(outcome).toMatchObject({ runId, agentId: scenario.agentId });
    }
  });

  it('stores every run durably with its terminal reason', async () => {
    const stored = await store.list();
    expect(stored).toHaveLength(FLEET.length);
    expect(stored.every((s) => s.status === 'done')).toBe(true);
    const byId = new Map(stored.map((s) => [s.runId, s.reason]));
    for (const r of results) expect(byId.get(r.runId)).toBe(r.outcome.reason);
  });

  it('shows the paused run in status "paused", then completes it', () => {
    const [paused, ...others] = withControl(results, 'pause-resume');
    expect(others).toEqual([]);
    expect(paused!.seen.has('paused')).toBe(true);
    expect(paused!.outcome.reason).toBe('COMPLETED');
  });

  it('has the operator approve one refund and reject another, and both complete', () => {
    for (const control of ['approve', 'reject']) {
      const [run, ...others] = withControl(results, control);
      expect(others).toEqual([]);
      expect(run!.seen.has('awaiting-approval')).toBe(true);
      expect(run!.outcome.reason).toBe('COMPLETED');
    }
  });

  it('ends the killed run with who killed it and why', () => {
    const [killed] = withControl(results, 'kill');
    expect(killed!.outcome).toMatchObject({ reason: 'USER_KILLED', by: OPERATOR, why: 'runaway cost' });
  });

  it('escalates both when the agent asks and when an approval is never given', () => {
    const escalated = results.map((r) => r.outcome).filter((o) => o.reason === 'ESCALATED');
    expect(new Set(escalated.map((o) => o.by))).toEqual(new Set(['agent', 'approval-timeout']));
  });

  it('replays identically under another prefix, even with every run in flight at once', async () => {
    const again = await fleet({ prefix: 'demo2', concurrency: FLEET.length });
    expect(again.results.map((r) => timeless(r.outcome))).toEqual(results.map((r) => timeless(r.outcome)));
    await again.store.close();
  });
});

describe('the demo support agent, as scenarios', () => {
  const lookup = { call: 'lookup_order', args: { orderId: 'A-1002' } };
  const refund = (amountUsd: number) => ({ call: 'issue_refund', args: { orderId: 'A-1002', amountUsd, reason: 'damaged on arrival' } });
  const email = (to: string) => ({ call: 'send_email', args: { to, subject: 'Your refund', body: 'It is on its way.' } });
  const task = 'Order A-1002 arrived broken. I want my $240 back.';

  it('refunds above the line once an operator approves, then emails once', async () => {
    const run = await scenario(support, { input: task, model: [lookup, refund(240), email('sam@example.com'), { answer: 'refunded' }], approvals: ['approve'] });
    expect(run).toEndWith('COMPLETED');
    expect(run).toHaveCalled('issue_refund', 1);
    expect(run).toHaveCalledBefore('issue_refund', 'send_email');
    expect(run.effects('send_email')).toBe(1);
  });

  it('a rejected refund is never issued; the agent settles for one within the line', async () => {
    const run = await scenario(support, { input: task, model: [lookup, refund(240), refund(100), { answer: 'refunded 100' }], approvals: [{ reject: 'too much' }] });
    expect(run).toEndWith('COMPLETED');
    expect(run.callsTo('issue_refund').map((c) => (c.input as { amountUsd: number }).amountUsd)).toEqual([100]);
  });

  it('an email to a relay that never answers ends ACTION_IN_DOUBT, sent at most once', async () => {
    const run = await scenario(support, { input: task, model: [email('sam@legacy-mail.example'), { answer: 'sent' }] });
    expect(run).toEndWith('ACTION_IN_DOUBT', { tool: 'send_email' });
    expect(run.callsTo('send_email')).toHaveLength(1);
  });
});
