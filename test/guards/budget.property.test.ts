import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { budgetBreach, type Limits } from '../../guards/budget.js';
import type { Usage } from '../../guards/usage.js';

const count = fc.integer({ min: 0, max: 2_000 });
const usageArb: fc.Arbitrary<Usage> = fc.record({
  turns: fc.integer({ min: 0, max: 50 }),
  inputTokens: count,
  outputTokens: count,
  cachedInputTokens: count,
  reasoningTokens: count,
  costUsd: fc.double({ min: 0, max: 20, noNaN: true }),
  costKnown: fc.boolean(),
});
const limitsArb: fc.Arbitrary<Limits> = fc.record(
  {
    maxTurns: fc.integer({ min: 1, max: 50 }),
    maxInputTokens: fc.integer({ min: 1, max: 2_000 }),
    maxOutputTokens: fc.integer({ min: 1, max: 2_000 }),
    maxTotalTokens: fc.integer({ min: 1, max: 4_000 }),
    maxCostUsd: fc.double({ min: Number.MIN_VALUE, max: 20, noNaN: true }),
    maxWallClockMs: fc.integer({ min: 1, max: 10_000 }),
  },
  { requiredKeys: [] },
);

/** The specification, written independently of the implementation: every budget spent, in order. */
function spent(u: Usage, l: Limits): Array<{ budget: string; limit: number; used: number }> {
  const candidates = [
    { budget: 'turns', limit: l.maxTurns, used: u.turns },
    { budget: 'inputTokens', limit: l.maxInputTokens, used: u.inputTokens },
    { budget: 'outputTokens', limit: l.maxOutputTokens, used: u.outputTokens },
    { budget: 'totalTokens', limit: l.maxTotalTokens, used: u.inputTokens + u.outputTokens },
    { budget: 'costUsd', limit: u.costKnown ? l.maxCostUsd : undefined, used: u.costUsd },
  ];
  return candidates.flatMap((c) => (c.limit !== undefined && c.used >= c.limit ? [{ budget: c.budget, limit: c.limit, used: c.used }] : []));
}

describe('budgetBreach (properties)', () => {
  it('breaches iff some budget is spent, and reports the first in the documented order', () => {
    const outcomes = new Set<string>();
    fc.assert(
      fc.property(usageArb, limitsArb, (u, l) => {
        const breach = budgetBreach(u, l);
        outcomes.add(breach?.budget ?? 'none');
        expect(breach).toEqual(spent(u, l)[0] ?? null);
      }),
      { numRuns: 2_000 },
    );
    // The generators must reach every outcome, or the property proves less than it claims.
    expect([...outcomes].sort()).toEqual(['costUsd', 'inputTokens', 'none', 'outputTokens', 'totalTokens', 'turns']);
  });

  it('never breaches on cost while the cost is unknown', () => {
    fc.assert(
      fc.property(usageArb, fc.double({ min: Number.MIN_VALUE, max: 20, noNaN: true }), (u, maxCostUsd) => {
        expect(budgetBreach({ ...u, costKnown: false }, { maxCostUsd })).toBeNull();
      }),
    );
  });

  it('is monotone: more usage never turns a breach back into room', () => {
    fc.assert(
      fc.property(usageArb, limitsArb, fc.nat(100), (u, l, extra) => {
        fc.pre(budgetBreach(u, l) !== null);
        const more = { ...u, turns: u.turns + extra, inputTokens: u.inputTokens + extra, outputTokens: u.outputTokens + extra, costUsd: u.costUsd + extra };
        expect(budgetBreach(more, l)).not.toBeNull();
      }),
    );
  });
});
