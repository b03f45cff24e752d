import { z } from 'zod';
import type { TokenUsage } from './usage.js';

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

/** The price for an id, looked up as own keys only so that ids like 'constructor' never hit Object.prototype. */
function priceOf(modelId: string, prices: PriceTable): Price | undefined {
  const bare = modelId.replace(PROVIDER_PREFIX, '');
  for (const id of [modelId, bare]) {
    if (Object.hasOwn(prices, id)) return prices[id];
  }
  return undefined;
}

/** USD cost of one call; cached input tokens (part of inputTokens) are billed at cachedInputPerMTok when given; null when the model has no price (unknown, never zero). Lookup: exact id, then the id after a 'provider:' or 'provider/' prefix. */
export function costOf(modelId: string, tokens: TokenUsage, prices: PriceTable): number | null {
  const price = priceOf(modelId, prices);
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
