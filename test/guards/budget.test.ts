import { describe, expect, it } from 'vitest';
import { Limits, budgetBreach } from '../../guards/budget.js';
import { ZERO_USAGE, type Usage } from '../../guards/usage.js';

const usage = (over: Partial<Usage>): Usage => ({ ...ZERO_USAGE, ...over });

describe('budgetBreach', () => {
  it('is null with no limits, however much was used', () => {
    expect(budgetBreach(usage({ turns: 1e6, inputTokens: 1e9, outputTokens: 1e9, costUsd: 1e6 }), {})).toBeNull();
  });

  it('is null while every budget has room', () => {
    const limits: Limits = { maxTurns: 10, maxInputTokens: 1000, maxOutputTokens: 500, maxTotalTokens: 1400, maxCostUsd: 1 };
    expect(budgetBreach(usage({ turns: 9, inputTokens: 999, outputTokens: 399, costUsd: 0.99 }), limits)).toBeNull();
  });

  it('breaches at used === limit: no room for another call', () => {
    expect(budgetBreach(usage({ turns: 10 }), { maxTurns: 10 })).toEqual({ budget: 'turns', limit: 10, used: 10 });
    expect(budgetBreach(usage({ inputTokens: 1000 }), { maxInputTokens: 1000 })).toEqual({ budget: 'inputTokens', limit: 1000, used: 1000 });
    expect(budgetBreach(usage({ outputTokens: 501 }), { maxOutputTokens: 500 })).toEqual({ budget: 'outputTokens', limit: 500, used: 501 });
    expect(budgetBreach(usage({ costUsd: 1.25 }), { maxCostUsd: 1.25 })).toEqual({ budget: 'costUsd', limit: 1.25, used: 1.25 });
  });

  it('counts total tokens as input + output (cached and reasoning are subsets, not added)', () => {
    const u = usage({ inputTokens: 700, outputTokens: 300, cachedInputTokens: 600, reasoningTokens: 200 });
    expect(budgetBreach(u, { maxTotalTokens: 1001 })).toBeNull();
    expect(budgetBreach(u, { maxTotalTokens: 1000 })).toEqual({ budget: 'totalTokens', limit: 1000, used: 1000 });
  });

  it('reports the first breach in the order turns, inputTokens, outputTokens, totalTokens, costUsd', () => {
    const u = usage({ turns: 5, inputTokens: 100, outputTokens: 100, costUsd: 2 });
    const all: Limits = { maxTurns: 5, maxInputTokens: 100, maxOutputTokens: 100, maxTotalTokens: 200, maxCostUsd: 2 };
    expect(budgetBreach(u, all)?.budget).toBe('turns');
    expect(budgetBreach(u, { ...all, maxTurns: 6 })?.budget).toBe('inputTokens');
    expect(budgetBreach(u, { ...all, maxTurns: 6, maxInputTokens: 101 })?.budget).toBe('outputTokens');
    expect(budgetBreach(u, { ...all, maxTurns: 6, maxInputTokens: 101, maxOutputTokens: 101 })).toEqual({ budget: 'totalTokens', limit: 200, used: 200 });
    expect(budgetBreach(u, { maxTurns: 6, maxTotalTokens: 201, maxCostUsd: 2 })).toEqual({ budget: 'costUsd', limit: 2, used: 2 });
  });

  it('never breaches the cost budget while the cost is unknown', () => {
    expect(budgetBreach(usage({ costUsd: 50, costKnown: false }), { maxCostUsd: 1 })).toBeNull();
    expect(budgetBreach(usage({ costUsd: 50, costKnown: false, turns: 3 }), { maxCostUsd: 1, maxTurns: 3 })?.budget).toBe('turns');
  });

  it('ignores the wall-clock limit, which the machine enforces as a deadline', () => {
    expect(budgetBreach(usage({ turns: 1 }), { maxWallClockMs: 1 })).toBeNull();
  });
});

describe('Limits', () => {
  it('accepts positive limits and refuses zero, negative and fractional counts', () => {
    expect(Limits.parse({ maxTurns: 3, maxCostUsd: 0.5 })).toEqual({ maxTurns: 3, maxCostUsd: 0.5 });
    expect(Limits.safeParse({ maxTurns: 0 }).success).toBe(false);
    expect(Limits.safeParse({ maxCostUsd: -1 }).success).toBe(false);
    expect(Limits.safeParse({ maxInputTokens: 1.5 }).success).toBe(false);
  });
});
