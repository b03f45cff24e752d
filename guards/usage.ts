import { z } from 'zod';

/** Token counts one model call reports. Cached and reasoning tokens are subsets providers bill differently. */
export const TokenUsage = z.object({
  inputTokens: z.number().int().nonnegative(),
  outputTokens: z.number().int().nonnegative(),
  cachedInputTokens: z.number().int().nonnegative().optional(),
  reasoningTokens: z.number().int().nonnegative().optional(),
});
export type TokenUsage = z.infer<typeof TokenUsage>;

/** What a run has spent so far. Cost is unknown (not zero) once any call had no price. */
export const Usage = z.object({
  turns: z.number().int().nonnegative(),
  inputTokens: z.number().int().nonnegative(),
  outputTokens: z.number().int().nonnegative(),
  cachedInputTokens: z.number().int().nonnegative(),
  reasoningTokens: z.number().int().nonnegative(),
  costUsd: z.number().nonnegative(),
  costKnown: z.boolean(),
});
export type Usage = z.infer<typeof Usage>;

export const ZERO_USAGE: Usage = {
  turns: 0,
  inputTokens: 0,
  outputTokens: 0,
  cachedInputTokens: 0,
  reasoningTokens: 0,
  costUsd: 0,
  costKnown: true,
};

/** Adds one model call (a turn) to the running totals; a null cost makes the total's cost unknown. */
export function addTurn(usage: Usage, tokens: TokenUsage, costUsd: number | null): Usage {
  return {
    turns: usage.turns + 1,
    inputTokens: usage.inputTokens + tokens.inputTokens,
    outputTokens: usage.outputTokens + tokens.outputTokens,
    cachedInputTokens: usage.cachedInputTokens + (tokens.cachedInputTokens ?? 0),
    reasoningTokens: usage.reasoningTokens + (tokens.reasoningTokens ?? 0),
    costUsd: usage.costUsd + (costUsd ?? 0),
    costKnown: usage.costKnown && costUsd !== null,
  };
}
