import { describe, expect, it } from 'vitest';
import { RetryPolicy, SideEffect, backoffDelay, canRetry, classifyFailure, type FailureKind } from '../../guards/retry.js';

const policy = (over: Partial<RetryPolicy> = {}): RetryPolicy => RetryPolicy.parse(over);

describe('RetryPolicy', () => {
  it('has the documented defaults', () => {
    expect(RetryPolicy.parse({})).toEqual({ maxAttempts: 3, baseDelayMs: 200, maxDelayMs: 30_000, multiplier: 2, jitter: 'full' });
  });

  it('refuses zero attempts and a shrinking multiplier', () => {
    expect(RetryPolicy.safeParse({ maxAttempts: 0 }).success).toBe(false);
    expect(RetryPolicy.safeParse({ multiplier: 0.5 }).success).toBe(false);
  });
});

describe('backoffDelay', () => {
  it('grows exponentially without jitter: base * multiplier^(retry-1)', () => {
    const p = policy({ jitter: 'none' });
    expect([1, 2, 3, 4, 5].map((r) => backoffDelay(r, p, 0.5))).toEqual([200, 400, 800, 1600, 3200]);
    expect(backoffDelay(3, policy({ jitter: 'none', baseDelayMs: 100, multiplier: 3 }), 0)).toBe(900);
  });

  it('is capped at maxDelayMs, also for absurd retry numbers', () => {
    const p = policy({ jitter: 'none', maxDelayMs: 1000 });
    expect(backoffDelay(4, p, 0)).toBe(1000);
    expect(backoffDelay(10_000, p, 0)).toBe(1000);
    expect(backoffDelay(10_000, policy({ jitter: 'none', baseDelayMs: 0 }), 0)).toBe(0);
  });

  it('full jitter: random * cap', () => {
    const p = policy({ jitter: 'full' });
    expect(backoffDelay(1, p, 0)).toBe(0);
    expect(backoffDelay(1, p, 0.999)).toBe(199);
    expect(backoffDelay(3, p, 0.5)).toBe(400);
    expect(backoffDelay(20, p, 0.999)).toBe(29_970);
  });

  it('equal jitter: cap/2 + random * cap/2', () => {
    const p = policy({ jitter: 'equal' });
    expect(backoffDelay(1, p, 0)).toBe(100);
    expect(backoffDelay(1, p, 0.999)).toBe(199);
    expect(backoffDelay(3, p, 0)).toBe(400);
    expect(backoffDelay(20, p, 0.999)).toBe(29_985);
  });

  it('no jitter ignores random', () => {
    const p = policy({ jitter: 'none' });
    expect(backoffDelay(2, p, 0)).toBe(400);
    expect(backoffDelay(2, p, 0.999)).toBe(400);
  });

  it('refuses a retry number below 1 and random outside [0,1)', () => {
    expect(() => backoffDelay(0, policy(), 0)).toThrow(RangeError);
    expect(() => backoffDelay(1.5, policy(), 0)).toThrow(RangeError);
    expect(() => backoffDelay(1, policy(), 1)).toThrow(RangeError);
    expect(() => backoffDelay(1, policy(), Number.NaN)).toThrow(RangeError);
  });
});

describe('classifyFailure', () => {
  const retryableFlags = [false, true, undefined] as const;
  const table: Record<string, Record<SideEffect, FailureKind>> = {
    // retryable flag / timed out -> side effect -> kind
    'false/false': { none: 'fatal', idempotent: 'fatal', 'non-idempotent': 'fatal' },
    'false/true': { none: 'fatal', idempotent: 'fatal', 'non-idempotent': 'fatal' },
    'true/false': { none: 'retryable', idempotent: 'retryable', 'non-idempotent': 'retryable' },
    // The tool was cut off: its flag cannot vouch that nothing happened.
    'true/true': { none: 'retryable', idempotent: 'retryable', 'non-idempotent': 'in-doubt' },
    'undefined/false': { none: 'retryable', idempotent: 'retryable', 'non-idempotent': 'in-doubt' },
    'undefined/true': { none: 'retryable', idempotent: 'retryable', 'non-idempotent': 'in-doubt' },
  };

  for (const retryable of retryableFlags) {
    for (const timedOut of [false, true]) {
      for (const sideEffect of SideEffect.options) {
        const expected = table[`${retryable}/${timedOut}`]?.[sideEffect];
        it(`retryable=${retryable} timedOut=${timedOut} ${sideEffect} -> ${expected}`, () => {
          expect(classifyFailure({ retryable, timedOut }, sideEffect)).toBe(expected);
        });
      }
    }
  }

  it('treats an absent retryable key like undefined', () => {
    expect(classifyFailure({ timedOut: false }, 'non-idempotent')).toBe('in-doubt');
    expect(classifyFailure({ timedOut: false }, 'idempotent')).toBe('retryable');
  });
});

describe('canRetry', () => {
  it('allows attempts up to maxAttempts in total', () => {
    const p = policy({ maxAttempts: 3 });
    expect([0, 1, 2, 3, 4].map((n) => canRetry(n, p))).toEqual([true, true, true, false, false]);
    expect(canRetry(1, policy({ maxAttempts: 1 }))).toBe(false);
  });
});
