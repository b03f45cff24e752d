import { z } from 'zod';
import { Limits, type BudgetBreach } from './budget.js';
import { combineUsage } from './cost.js';
import { Usage, ZERO_USAGE } from './usage.js';

/**
 * The fan-out budget of a run's sub-agent tree. Both are what the run may
 * still create below itself, like every nested budget: a child is given what
 * its parent has left. `maxDescendants`: runs started anywhere below it in
 * all; `maxDepth`: levels of sub-agents below it (0: it may start none).
 */
export const TreeLimits = z.object({
  maxDescendants: z.number().int().nonnegative().optional(),
  maxDepth: z.number().int().nonnegative().optional(),
});
export type TreeLimits = z.infer<typeof TreeLimits>;

/** A run's limits: spend (turns, tokens, cost, wall clock) and fan-out. */
export const RunLimits = Limits.extend(TreeLimits.shape);
export type RunLimits = z.infer<typeof RunLimits>;

/** What a run's finished sub-runs spent, all levels down: how many runs, and their usage. */
export const SubtreeSpend = z.object({ runs: z.number().int().nonnegative(), usage: Usage });
export type SubtreeSpend = z.infer<typeof SubtreeSpend>;

export const NO_SUBTREE: SubtreeSpend = { runs: 0, usage: ZERO_USAGE };

/** A run's own usage plus its finished sub-runs': what its budgets are checked against. */
export function treeUsage(own: Usage, subtree: SubtreeSpend): Usage {
  return subtree.runs === 0 ? own : combineUsage([own, subtree.usage]);
}

/** Adds one finished child's spend (its own and its subtree's) to a run's subtree. */
export function addChildSpend(subtree: SubtreeSpend, child: SubtreeSpend): SubtreeSpend {
  return { runs: subtree.runs + child.runs, usage: combineUsage([subtree.usage, child.usage]) };
}

/** What a run can hand down when it starts a sub-run: its limits, its tree's spend so far, and the wall clock it has left. */
export const SpawnBudget = z.object({
  limits: RunLimits,
  /** The run's usage with its finished sub-runs' added. */
  used: Usage,
  /** Sub-runs started below it so far (finished ones, all levels down). */
  descendants: z.number().int().nonnegative(),
  /** Milliseconds to the run's deadline; null without one. */
  remainingMs: z.number().nullable(),
});
export type SpawnBudget = z.infer<typeof SpawnBudget>;

/** The limits a child starts with, or the parent's budget that has no room for it. */
export type Allocation = { readonly ok: true; readonly limits: RunLimits } | { readonly ok: false; readonly breach: BudgetBreach };

type Additive = 'maxTurns' | 'maxInputTokens' | 'maxOutputTokens' | 'maxTotalTokens' | 'maxCostUsd';
const ADDITIVE: ReadonlyArray<{ key: Additive; budget: BudgetBreach['budget']; used: (u: Usage) => number | null; integer: boolean }> = [
  { key: 'maxTurns', budget: 'turns', used: (u) => u.turns, integer: true },
  { key: 'maxInputTokens', budget: 'inputTokens', used: (u) => u.inputTokens, integer: true },
  { key: 'maxOutputTokens', budget: 'outputTokens', used: (u) => u.outputTokens, integer: true },
  { key: 'maxTotalTokens', budget: 'totalTokens', used: (u) => u.inputTokens + u.outputTokens, integer: true },
  // An unknown cost never breaches (as in budgetBreach): the known part is what is left to hand down.
  { key: 'maxCostUsd', budget: 'costUsd', used: (u) => u.costUsd, integer: false },
];

const smaller = (a: number | undefined, b: number | undefined) => (a === undefined ? b : b === undefined ? a : Math.min(a, b));

/**
 * The limits of a new child: for every budget, the smaller of the child's own
 * limit and `share` of what the parent has left (its limit minus its tree's
 * spend). A child therefore can never be given more than its parent has left;
 * children started side by side split it by their shares. Fan-out: the child
 * itself takes one of the parent's descendants and gets `share` of the rest;
 * its depth budget is one less than the parent's. The wall clock is not
 * split (siblings share time): a child ends no later than its parent's
 * deadline. When the parent has no room (no descendant or level left, or a
 * spend budget with nothing left to give) the breach names that budget.
 */
export function allocateChild(parent: SpawnBudget, own: RunLimits = {}, share = 1): Allocation {
  if (!(share > 0 && share <= 1)) throw new RangeError(`share must be in (0, 1], got ${share}`);
  const { limits } = parent;
  if (limits.maxDepth !== undefined && limits.maxDepth < 1) return { ok: false, breach: { budget: 'depth', limit: limits.maxDepth, used: 1 } };
  if (limits.maxDescendants !== undefined && parent.descendants + 1 > limits.maxDescendants) {
    return { ok: false, breach: { budget: 'fanOut', limit: limits.maxDescendants, used: parent.descendants } };
  }
  const child: RunLimits = { ...own };
  for (const { key, budget, used: read, integer } of ADDITIVE) {
    const limit = limits[key];
    if (limit === undefined) continue;
    const used = read(parent.used) ?? 0;
    const left = (limit - used) * share;
    const given = integer ? Math.floor(left) : left;
    if (!(given > 0)) return { ok: false, breach: { budget, limit, used } };
    child[key] = smaller(own[key], given);
  }
  if (limits.maxDescendants !== undefined) child.maxDescendants = smaller(own.maxDescendants, Math.floor((limits.maxDescendants - parent.descendants - 1) * share));
  if (limits.maxDepth !== undefined) child.maxDepth = smaller(own.maxDepth, limits.maxDepth - 1);
  if (parent.remainingMs !== null) child.maxWallClockMs = smaller(own.maxWallClockMs, Math.max(1, Math.floor(parent.remainingMs)));
  return { ok: true, limits: child };
}
