import { z } from 'zod';
import type { Usage } from './usage.js';

/** The budgets a run can exhaust; fanOut and depth bound sub-agent trees. */
export const BudgetName = z.enum(['turns', 'inputTokens', 'outputTokens', 'totalTokens', 'costUsd', 'fanOut', 'depth']);
export type BudgetName = z.infer<typeof BudgetName>;

/** A run's spending limits; an absent limit is unlimited. */
export const Limits = z.object({
  maxTurns: z.number().int().positive().optional(),
  maxInputTokens: z.number().int().positive().optional(),
  maxOutputTokens: z.number().int().positive().optional(),
  maxTotalTokens: z.number().int().positive().optional(),
  maxCostUsd: z.number().positive().optional(),
  maxWallClockMs: z.number().int().positive().optional(),
});
export type Limits = z.infer<typeof Limits>;

/** Which budget ran out, its limit, and what had been used: the evidence BUDGET_EXCEEDED carries. */
export type BudgetBreach = { budget: BudgetName; limit: number; used: number };

/**
 * The budgets checked before each model call, in reporting order. Cached and
 * reasoning tokens are subsets of input and output, so total is input + output.
 * An unknown cost reads as null and never breaches: it must not end a run as if
 * it were known to be over, nor count as zero.
 */
const MODEL_CALL_BUDGETS: ReadonlyArray<{ budget: BudgetName; limit: keyof Limits; used: (u: Usage) => number | null }> = [
  { budget: 'turns', limit: 'maxTurns', used: (u) => u.turns },
  { budget: 'inputTokens', limit: 'maxInputTokens', used: (u) => u.inputTokens },
  { budget: 'outputTokens', limit: 'maxOutputTokens', used: (u) => u.outputTokens },
  { budget: 'totalTokens', limit: 'maxTotalTokens', used: (u) => u.inputTokens + u.outputTokens },
  { budget: 'costUsd', limit: 'maxCostUsd', used: (u) => (u.costKnown ? u.costUsd : null) },
];

/** The first budget with no room left for another model call (used >= limit), in the order turns, inputTokens, outputTokens, totalTokens, costUsd; null when all have room. Wall clock is the machine's deadline, not checked here. */
export function budgetBreach(usage: Usage, limits: Limits): BudgetBreach | null {
  for (const { budget, limit: key, used: read } of MODEL_CALL_BUDGETS) {
    const limit = limits[key];
    const used = read(usage);
    if (limit !== undefined && used !== null && used >= limit) return { budget, limit, used };
  }
  return null;
}
