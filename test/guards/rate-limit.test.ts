import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EMPTY_RATE_STATE, rateDecide, rateRelease, type RateState } from '../../guards/rate-limit.js';

describe('GCRA rate limit', () => {
  it('paces 10 per second evenly: the 2nd call waits 100 ms', () => {
    const policy = { limit: 10, perMs: 1_000 };
    const first = rateDecide(EMPTY_RATE_STATE, policy, 'a', 1_000);
    expect(first.decision).toEqual({ granted: true });
    const second = rateDecide(first.state, policy, 'b', 1_000);
    expect(second.decision).toEqual({ granted: false, retryAfterMs: 100 });
    expect(rateDecide(first.state, policy, 'b', 1_100).decision).toEqual({ granted: true });
  });

  it('a burst lets that many go at once, then paces', () => {
    let state: RateState = EMPTY_RATE_STATE;
    const policy = { limit: 10, perMs: 1_000, burst: 3 };
    const granted = [0, 1, 2, 3].map(() => {
      const r = rateDecide(state, policy, 'h', 0);
      state = r.state;
      return r.decision.granted;
    });
    expect(granted).toEqual([true, true, true, false]);
  });

  it('caps calls in flight; a release or an expired slot frees one; a refused call spends no token', () => {
    const policy = { limit: 1_000, perMs: 1_000, concurrency: 2, slotTtlMs: 500 };
    let s = rateDecide(EMPTY_RATE_STATE, policy, 'a', 0).state;
    s = rateDecide(s, policy, 'b', 1).state;
    const refused = rateDecide(s, policy, 'c', 2);
    expect(refused.decision.granted).toBe(false);
    expect(refused.state.tat).toBe(s.tat);
    expect(rateDecide(rateRelease(s, 'a'), policy, 'c', 2).decision.granted).toBe(true);
    expect(rateDecide(s, policy, 'c', 600).decision.granted).toBe(true);
  });

  it('no window of perMs ever sees more than limit calls (burst 1), whatever the arrival pattern', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 50 }), { minLength: 1, maxLength: 300 }), fc.integer({ min: 1, max: 20 }), (gaps, limit) => {
        const policy = { limit, perMs: 1_000 };
        let state: RateState = EMPTY_RATE_STATE;
        let now = 0;
        const sent: number[] = [];
        for (const gap of gaps) {
          now += gap;
          const r = rateDecide(state, policy, 'x', now);
          state = r.state;
          if (r.decision.granted) sent.push(now);
        }
        for (const t of sent) expect(sent.filter((u) => u >= t && u < t + 1_000).length).toBeLessThanOrEqual(limit);
      }),
    );
  });
});
