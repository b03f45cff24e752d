import { z } from 'zod';
import type { TokenUsage, Usage } from './usage.js';

/** A model's list price in USD per million tokens; cached input has its own (lower) rate when the provider has one. */
export const Price = z.object({
  inputPerMTok: z.number().nonnegative(),
  outputPerMTok: z.number().nonnegative(),
  cachedInputPerMTok: z.number().nonnegative().optional(),
});
export type Price = z.infer<typeof Price>;

/** Prices by model id. */
export type PriceTable = Readonly<Record<string, Price>>;

/**
 * Public list prices (standard tier, no batch discount) from the providers'
 * pricing pages as of mid-2025. Prices change: pass your own table for
 * anything that bills real money.
 */
export const DEFAULT_PRICES: PriceTable = {
  'gpt-4o': { inputPerMTok: 2.5, outputPerMTok: 10, cachedInputPerMTok: 1.25 },
  'gpt-4o-mini': { inputPerMTok: 0.15, outputPerMTok: 0.6, cachedInputPerMTok: 0.075 },
  'claude-sonnet-4': { inputPerMTok: 3, outputPerMTok: 15, cachedInputPerMTok: 0.3 },
  'claude-3-5-haiku': { inputPerMTok: 0.8, outputPerMTok: 4, cachedInputPerMTok: 0.08 },
  'gemini-2.0-flash': { inputPerMTok: 0.1, outputPerMTok: 0.4, cachedInputPerMTok: 0.025 },
};

/** A 'provider:' or 'provider/' prefix, as in 'openai:gpt-4o' or 'anthropic/claude-sonnet-4'. */
const PROVIDER_PREFIX = /^[^:/]+[:/]/;
/** A dated snapshot suffix, as in 'gpt-4o-mini-2024-07-18' or 'claude-sonnet-4-20250514'. */
const DATE_SUFFIX = /-(\d{4}-\d{2}-\d{2}|\d{8})$/;

/**
 * The entry for a model id in a table keyed by model id (prices, context
 * windows): the exact id, then without a 'provider:' / 'provider/' prefix,
 * then without a dated snapshot suffix. Own keys only, so that ids like
 * 'constructor' never hit Object.prototype.
 */
export function lookupModel<T>(modelId: string, table: Readonly<Record<string, T>>): T | undefined {
  const bare = modelId.replace(PROVIDER_PREFIX, '');
  for (const id of [modelId, bare, bare.replace(DATE_SUFFIX, '')]) {
    if (Object.hasOwn(table, id)) return table[id];
  }
  return undefined;
}

/** USD cost of one call; cached input tokens (part of inputTokens) are billed at cachedInputPerMTok when given; null when the model has no price (unknown, never zero). Lookup: exact id, then without a 'provider:' / 'provider/' prefix, then without a dated suffix. */
export function costOf(modelId: string, tokens: TokenUsage, prices: PriceTable): number | null {
  const price = lookupModel(modelId, prices);
  if (!price) return null;
  // Without a cached rate the provider bills cached tokens as ordinary input;
  // reasoning tokens are part of outputTokens and billed as output.
  const cached = price.cachedInputPerMTok === undefined ? 0 : Math.min(tokens.cachedInputTokens ?? 0, tokens.inputTokens);
  const micro =
    (tokens.inputTokens - cached) * price.inputPerMTok +
    cached * (price.cachedInputPerMTok ?? 0) +
    tokens.outputTokens * price.outputPerMTok;
  return micro / 1_000_000;
}

/** Adds a helper model's call (a summariser, a progress judge) to a run's usage: tokens and cost count, turns do not. */
export function addSpend(usage: Usage, modelId: string, tokens: TokenUsage, prices: PriceTable): Usage {
  const cost = costOf(modelId, tokens, prices);
  return {
    turns: usage.turns,
    inputTokens: usage.inputTokens + tokens.inputTokens,
    outputTokens: usage.outputTokens + tokens.outputTokens,
    cachedInputTokens: usage.cachedInputTokens + (tokens.cachedInputTokens ?? 0),
    reasoningTokens: usage.reasoningTokens + (tokens.reasoningTokens ?? 0),
    costUsd: usage.costUsd + (cost ?? 0),
    costKnown: usage.costKnown && cost !== null,
  };
}

/** The total of several runs' usage (a run and its sub-runs): what a run tree's budget is checked against. Unknown cost anywhere makes the total unknown. */
export function combineUsage(usages: readonly Usage[]): Usage {
  return usages.reduce<Usage>(
    (total, u) => ({
      turns: total.turns + u.turns,
      inputTokens: total.inputTokens + u.inputTokens,
      outputTokens: total.outputTokens + u.outputTokens,
      cachedInputTokens: total.cachedInputTokens + u.cachedInputTokens,
      reasoningTokens: total.reasoningTokens + u.reasoningTokens,
      costUsd: total.costUsd + u.costUsd,
      costKnown: total.costKnown && u.costKnown,
    }),
    { turns: 0, inputTokens: 0, outputTokens: 0, cachedInputTokens: 0, reasoningTokens: 0, costUsd: 0, costKnown: true },
  );
}
