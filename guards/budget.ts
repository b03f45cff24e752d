import { z } from 'zod';

/** The budgets a run can exhaust; fanOut and depth bound sub-agent trees. */
export const BudgetName = z.enum(['turns', 'inputTokens', 'outputTokens', 'totalTokens', 'costUsd', 'fanOut', 'depth']);
export type BudgetName = z.infer<typeof BudgetName>;
