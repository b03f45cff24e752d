import { describe, expect, it } from 'vitest';
import { computeStats } from '../../agents/stats.js';
import type { RunSummary } from '../../persistence/records.js';

const run = (runId: string, agentId: string, status: RunSummary['status'], reason: string | null, turns = 1, costUsd = 0, createdAt = 100): RunSummary => ({
  runId, agentId, parentId: null, status, state: 'x', step: turns, turns, activeTool: null, costUsd, reason, createdAt, updatedAt: createdAt,
});

describe('computeStats', () => {
  const runs = [
    run('a', 'support', 'done', 'COMPLETED', 2, 0.01),
    run('b', 'support', 'done', 'COMPLETED', 4, 0.03),
    run('c', 'support', 'done', 'LOOP_DETECTED', 9, 0.2),
    run('d', 'research', 'done', 'TIMEOUT', 5, 0.05),
    run('e', 'research', 'running', null, 1, 0),
    run('f', 'research', 'quarantined', null, 0, 0),
  ];

  it('counts every run once: reasons + active + quarantined add up to the runs', () => {
    const s = computeStats(runs);
    const reasons = Object.values(s.byReason).reduce((n, x) => n + x.count, 0);
    expect(s.runs).toBe(6);
    expect(reasons + s.active + s.quarantined).toBe(6);
    expect(s.byReason.COMPLETED).toEqual({ count: 2, share: 2 / 6 });
    expect(s.byGroup).toEqual({ healthy: { count: 2, share: 2 / 6 }, exhausted: { count: 1, share: 1 / 6 }, broken: { count: 1, share: 1 / 6 } });
    expect(s.turns).toEqual({ p50: 4, p90: 9, p99: 9 });
    expect(s.costUsd).toEqual({ p50: 0.03, p90: 0.2, p99: 0.2 });
  });

  it('reports per agent and filters by agent and creation time', () => {
    const s = computeStats(runs);
    expect(Object.keys(s.perAgent)).toEqual(['research', 'support']);
    expect(s.perAgent.support!.byReason.LOOP_DETECTED.count).toBe(1);
    expect(computeStats(runs, { agentId: 'research' }).runs).toBe(3);
    expect(computeStats([...runs, run('g', 'support', 'done', 'COMPLETED', 1, 0, 500)], { since: 200 }).runs).toBe(1);
    expect(computeStats([]).turns).toBeNull();
  });
});
