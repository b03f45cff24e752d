import { describe, expect, it } from 'vitest';
import { DEFAULT_PRICES, Price, type PriceTable, costOf } from '../../guards/cost.js';

const prices: PriceTable = {
  'm-cached': { inputPerMTok: 2, outputPerMTok: 8, cachedInputPerMTok: 0.5 },
  'm-plain': { inputPerMTok: 3, outputPerMTok: 15 },
  'm-free': { inputPerMTok: 0, outputPerMTok: 0 },
};

describe('costOf', () => {
  it('bills input and output per million tokens', () => {
    expect(costOf('m-plain', { inputTokens: 1_000_000, outputTokens: 100_000 }, prices)).toBeCloseTo(3 + 1.5, 12);
    expect(costOf('m-plain', { inputTokens: 1234, outputTokens: 567 }, prices)).toBeCloseTo((1234 * 3 + 567 * 15) / 1e6, 15);
  });

  it('bills cached input (part of inputTokens) at the cached rate', () => {
    const tokens = { inputTokens: 1_000_000, outputTokens: 0, cachedInputTokens: 600_000 };
    expect(costOf('m-cached', tokens, prices)).toBeCloseTo(0.4 * 2 + 0.6 * 0.5, 12);
  });

  it('bills cached input as ordinary input when the model has no cached rate', () => {
    expect(costOf('m-plain', { inputTokens: 1_000_000, outputTokens: 0, cachedInputTokens: 600_000 }, prices)).toBeCloseTo(3, 12);
  });

  it('never bills more cached tokens than input tokens (a provider over-reporting the cache)', () => {
    expect(costOf('m-cached', { inputTokens: 100, outputTokens: 0, cachedInputTokens: 500 }, prices)).toBeCloseTo((100 * 0.5) / 1e6, 15);
  });

  it('bills reasoning tokens as the output they are part of, not on top', () => {
    expect(costOf('m-plain', { inputTokens: 0, outputTokens: 1_000_000, reasoningTokens: 900_000 }, prices)).toBeCloseTo(15, 12);
  });

  it('is null for an unpriced model, and 0 only for a model priced at zero', () => {
    expect(costOf('mystery-model', { inputTokens: 10, outputTokens: 10 }, prices)).toBeNull();
    expect(costOf('m-free', { inputTokens: 10, outputTokens: 10 }, prices)).toBe(0);
  });

  it('looks up the exact id first, then the id after a provider: or provider/ prefix', () => {
    const table: PriceTable = { ...prices, 'acme:m-plain': { inputPerMTok: 100, outputPerMTok: 100 } };
    const tokens = { inputTokens: 1_000_000, outputTokens: 0 };
    expect(costOf('acme:m-plain', tokens, table)).toBeCloseTo(100, 12);
    expect(costOf('other:m-plain', tokens, table)).toBeCloseTo(3, 12);
    expect(costOf('openrouter/m-plain', tokens, table)).toBeCloseTo(3, 12);
    // Only one prefix is removed: a nested route is a different (unpriced) id.
    expect(costOf('a/b/m-plain', tokens, table)).toBeNull();
  });

  it('does not mistake Object.prototype members for prices', () => {
    expect(costOf('constructor', { inputTokens: 1, outputTokens: 1 }, prices)).toBeNull();
    expect(costOf('openai:toString', { inputTokens: 1, outputTokens: 1 }, prices)).toBeNull();
  });
});

describe('DEFAULT_PRICES', () => {
  it('prices the well-known models, each a valid Price', () => {
    expect(Object.keys(DEFAULT_PRICES).sort()).toEqual(['claude-3-5-haiku', 'claude-sonnet-4', 'gemini-2.0-flash', 'gpt-4o', 'gpt-4o-mini']);
    for (const price of Object.values(DEFAULT_PRICES)) expect(Price.parse(price)).toEqual(price);
  });

  it('prices a provider-prefixed id the way a model adapter reports it', () => {
    expect(costOf('openai:gpt-4o-mini', { inputTokens: 1_000_000, outputTokens: 1_000_000 }, DEFAULT_PRICES)).toBeCloseTo(0.75, 12);
    expect(costOf('anthropic/claude-sonnet-4', { inputTokens: 1_000_000, outputTokens: 0, cachedInputTokens: 1_000_000 }, DEFAULT_PRICES)).toBeCloseTo(0.3, 12);
  });
});
