import { beforeAll, describe, expect, it } from 'vitest';
import { FLEET, runFleet, type FleetResult } from '../examples/fleet/index.js';
import { OPERATOR } from '../examples/fleet/operator.js';
import { TERMINAL_REASONS, TerminalOutcome, type TerminalOutcome as Outcome } from '../machines/outcome.js';

/** An outcome without the fields that measure time, which no two runs share. */
function timeless(outcome: Outcome): unknown {
  return JSON.parse(JSON.stringify(outcome, (key, value: unknown) => (['endedAt', 'elapsedMs', 'stack'].includes(key) ? undefined : value)));
}

const withControl = (results: readonly FleetResult[], control: string) => results.filter((r) => r.scenario.control === control);

describe('the demo fleet', () => {
  let results: FleetResult[];
  beforeAll(async () => {
    results = await runFleet();
  });

  it('has a few dozen runs with fixed, unique ids', () => {
    expect(FLEET.length).toBeGreaterThanOrEqual(36);
    expect(new Set(FLEET.map((s) => s.runId)).size).toBe(FLEET.length);
    expect(results.map((r) => r.scenario.runId)).toEqual(FLEET.map((s) => s.runId));
  });

  it('ends every run with exactly the reason its scenario was designed for', () => {
    expect(results.map((r) => `${r.scenario.runId} ${r.outcome.reason}`)).toEqual(FLEET.map((s) => `${s.runId} ${s.expected}`));
    expect(results.every((r) => r.asDesigned)).toBe(true);
  });

  it('covers all 13 terminal reasons', () => {
    expect(new Set(results.map((r) => r.outcome.reason))).toEqual(new Set(TERMINAL_REASONS));
    expect(TERMINAL_REASONS).toHaveLength(13);
  });

  it('produces outcomes that parse as TerminalOutcome and belong to their run', () => {
    for (const { scenario, outcome } of results) {
      expect(TerminalOutcome.parse(outcome)).toEqual(outcome);
      expect(outcome).toMatchObject({ runId: scenario.runId, agentId: scenario.agent.id });
    }
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

  it('replays identically, even with every run in flight at once', async () => {
    const again = await runFleet({ concurrency: FLEET.length });
    expect(again.map((r) => timeless(r.outcome))).toEqual(results.map((r) => timeless(r.outcome)));
  });
});
