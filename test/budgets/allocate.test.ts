import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allocateChild, NO_SUBTREE, treeUsage, addChildSpend, type SpawnBudget } from '../../guards/nested-budget.js';
import { ZERO_USAGE, type Usage } from '../../guards/usage.js';

const used = (u: Partial<Usage>): Usage => ({ ...ZERO_USAGE, ...u });
const parent = (over: Partial<SpawnBudget>): SpawnBudget => ({ limits: {}, used: ZERO_USAGE, descendants: 0, remainingMs: null, ...over });

describe('allocateChild: a child gets the smaller of its own limits and what its parent has left', () => {
  it('spend budgets: the parent limit minus its tree spend, times the share; the child own limit when smaller', () => {
    const a = allocateChild(parent({ limits: { maxTurns: 20, maxCostUsd: 1, maxTotalTokens: 10_000 }, used: used({ turns: 5, costUsd: 0.4, inputTokens: 3_000, outputTokens: 1_000 }) }), { maxTurns: 8 });
    expect(a).toEqual({ ok: true, limits: { maxTurns: 8, maxCostUsd: 0.6, maxTotalTokens: 6_000 } });
    const half = allocateChild(parent({ limits: { maxTurns: 20 }, used: used({ turns: 5 }) }), {}, 0.5);
    expect(half).toEqual({ ok: true, limits: { maxTurns: 7 } });
  });

  it('fan-out: the child takes one of the descendants left and gets the rest; depth goes down by one', () => {
    expect(allocateChild(parent({ limits: { maxDescendants: 10, maxDepth: 3 }, descendants: 4 }))).toEqual({ ok: true, limits: { maxDescendants: 5, maxDepth: 2 } });
    expect(allocateChild(parent({ limits: { maxDescendants: 10 } }), { maxDescendants: 2 })).toEqual({ ok: true, limits: { maxDescendants: 2 } });
  });

  it('no room: fan-out, depth, or a spend budget with nothing left names that budget', () => {
    expect(allocateChild(parent({ limits: { maxDescendants: 3 }, descendants: 3 }))).toEqual({ ok: false, breach: { budget: 'fanOut', limit: 3, used: 3 } });
    expect(allocateChild(parent({ limits: { maxDepth: 0 } }))).toEqual({ ok: false, breach: { budget: 'depth', limit: 0, used: 1 } });
    expect(allocateChild(parent({ limits: { maxCostUsd: 0.5 }, used: used({ costUsd: 0.5 }) }))).toEqual({ ok: false, breach: { budget: 'costUsd', limit: 0.5, used: 0.5 } });
    // One turn left, split in two: neither half is a whole turn.
    expect(allocateChild(parent({ limits: { maxTurns: 4 }, used: used({ turns: 3 }) }), {}, 0.5)).toEqual({ ok: false, breach: { budget: 'turns', limit: 4, used: 3 } });
  });

  it('the wall clock is not split: a child ends no later than its parent', () => {
    expect(allocateChild(parent({ remainingMs: 5_000 }), { maxWallClockMs: 60_000 }, 0.25)).toEqual({ ok: true, limits: { maxWallClockMs: 5_000 } });
    expect(allocateChild(parent({ remainingMs: 5_000 }), { maxWallClockMs: 1_000 })).toEqual({ ok: true, limits: { maxWallClockMs: 1_000 } });
  });

  it('a parent without a limit hands down the child own limit', () => {
    expect(allocateChild(parent({}), { maxTurns: 3, maxDescendants: 2 })).toEqual({ ok: true, limits: { maxTurns: 3, maxDescendants: 2 } });
  });

  it('property: children started one after another, each spending at most what it was given, never take the tree past the parent', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 200 }),
        fc.integer({ min: 0, max: 30 }),
        fc.array(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.integer({ min: 0, max: 5 })), { maxLength: 40 }),
        (maxTurns, maxDescendants, children) => {
          let subtree = NO_SUBTREE;
          for (const [fraction, grandchildren] of children) {
            const a = allocateChild(parent({ limits: { maxTurns, maxDescendants }, used: treeUsage(ZERO_USAGE, subtree), descendants: subtree.runs }));
            if (!a.ok) break;
            const turns = Math.floor(fraction * a.limits.maxTurns!);
            const runs = 1 + Math.min(grandchildren, a.limits.maxDescendants!);
            subtree = addChildSpend(subtree, { runs, usage: used({ turns }) });
            expect(subtree.runs).toBeLessThanOrEqual(maxDescendants);
            expect(subtree.usage.turns).toBeLessThanOrEqual(maxTurns);
          }
        },
      ),
    );
  });
});
