import { describe, expect, it } from 'vitest';
import { CLOSED_CIRCUIT, CircuitPolicy, CircuitState, admitCall, recordFailure, recordSuccess } from '../../guards/circuit.js';

const policy = CircuitPolicy.parse({ failureThreshold: 3, cooldownMs: 1000 });

function failTimes(state: CircuitState, times: number, now: number): CircuitState {
  let s = state;
  for (let i = 0; i < times; i++) s = recordFailure(s, now, policy);
  return s;
}

describe('CircuitPolicy', () => {
  it('has the documented defaults', () => {
    expect(CircuitPolicy.parse({})).toEqual({ failureThreshold: 5, cooldownMs: 30_000 });
  });
});

describe('circuit breaker', () => {
  it('starts closed and lets calls through', () => {
    expect(CircuitState.parse(CLOSED_CIRCUIT)).toEqual({ status: 'closed', consecutiveFailures: 0, openedAt: null });
    expect(admitCall(CLOSED_CIRCUIT, 0, policy)).toEqual({ allowed: true, state: CLOSED_CIRCUIT });
  });

  it('stays closed below the threshold and opens at exactly threshold consecutive failures', () => {
    const twice = failTimes(CLOSED_CIRCUIT, 2, 50);
    expect(twice).toEqual({ status: 'closed', consecutiveFailures: 2, openedAt: null });
    expect(admitCall(twice, 60, policy).allowed).toBe(true);
    expect(recordFailure(twice, 100, policy)).toEqual({ status: 'open', consecutiveFailures: 3, openedAt: 100 });
  });

  it('a success resets the count, so only consecutive failures open it', () => {
    const s = failTimes(recordSuccess(failTimes(CLOSED_CIRCUIT, 2, 0)), 2, 0);
    expect(s).toEqual({ status: 'closed', consecutiveFailures: 2, openedAt: null });
  });

  it('fails fast while open, until the cool-down has passed', () => {
    const open = failTimes(CLOSED_CIRCUIT, 3, 100);
    expect(admitCall(open, 100, policy)).toEqual({ allowed: false, state: open });
    expect(admitCall(open, 1099, policy)).toEqual({ allowed: false, state: open });
  });

  it('after the cool-down admits exactly one trial call and turns half-open', () => {
    const open = failTimes(CLOSED_CIRCUIT, 3, 100);
    const trial = admitCall(open, 1100, policy);
    expect(trial).toEqual({ allowed: true, state: { status: 'half-open', consecutiveFailures: 3, openedAt: 100 } });
    expect(admitCall(trial.state, 1101, policy)).toEqual({ allowed: false, state: trial.state });
    expect(admitCall(trial.state, 99_999, policy).allowed).toBe(false);
  });

  it('a successful trial closes the circuit', () => {
    const halfOpen = admitCall(failTimes(CLOSED_CIRCUIT, 3, 0), 1000, policy).state;
    const closed = recordSuccess(halfOpen);
    expect(closed).toEqual(CLOSED_CIRCUIT);
    expect(admitCall(closed, 1001, policy).allowed).toBe(true);
  });

  it('a failed trial reopens at once, with a fresh cool-down', () => {
    const halfOpen = admitCall(failTimes(CLOSED_CIRCUIT, 3, 0), 1000, policy).state;
    const reopened = recordFailure(halfOpen, 1500, policy);
    expect(reopened).toEqual({ status: 'open', consecutiveFailures: 4, openedAt: 1500 });
    expect(admitCall(reopened, 2499, policy).allowed).toBe(false);
    expect(admitCall(reopened, 2500, policy).allowed).toBe(true);
  });

  it('a straggler failing while open does not extend the cool-down', () => {
    const open = failTimes(CLOSED_CIRCUIT, 3, 0);
    const later = recordFailure(open, 900, policy);
    expect(later).toEqual({ status: 'open', consecutiveFailures: 4, openedAt: 0 });
    expect(admitCall(later, 1000, policy).allowed).toBe(true);
  });

  it('an open circuit with no opening time admits a trial rather than staying shut forever', () => {
    expect(admitCall({ status: 'open', consecutiveFailures: 3, openedAt: null }, 0, policy).allowed).toBe(true);
  });

  it('a zero cool-down admits the trial immediately', () => {
    const p = CircuitPolicy.parse({ failureThreshold: 1, cooldownMs: 0 });
    const open = recordFailure(CLOSED_CIRCUIT, 5, p);
    expect(admitCall(open, 5, p)).toEqual({ allowed: true, state: { status: 'half-open', consecutiveFailures: 1, openedAt: 5 } });
  });
});
