import type { TerminalOutcome, TerminalReason } from '../machines/outcome.js';
import type { CallRecord } from './mock-tool.js';

/** What a matcher returns, in the shape vitest's and jest's `expect.extend` take. */
export interface MatcherResult {
  readonly pass: boolean;
  readonly message: () => string;
}

/** Anything with an outcome and calls: a ScenarioResult, or a run's outcome alone for `toEndWith`. */
type WithOutcome = TerminalOutcome | { readonly outcome: TerminalOutcome | null };
type WithCalls = { readonly calls: readonly CallRecord[] };

function outcomeOf(received: unknown): TerminalOutcome | null {
  if (typeof received !== 'object' || received === null) return null;
  if ('reason' in received) return received as TerminalOutcome;
  if ('outcome' in received) return (received as { outcome: TerminalOutcome | null }).outcome;
  return null;
}

function callsOf(received: unknown): readonly CallRecord[] {
  if (typeof received === 'object' && received !== null && 'calls' in received && Array.isArray((received as WithCalls).calls)) return (received as WithCalls).calls;
  throw new TypeError('expected a scenario result (an object with `calls`)');
}

/** Logical calls of a tool, in the order their first attempt started. */
function logical(calls: readonly CallRecord[], tool: string): string[] {
  return [...new Set(calls.filter((c) => c.tool === tool).map((c) => c.logicalCall))];
}

function describeOutcome(outcome: TerminalOutcome | null): string {
  if (!outcome) return 'no outcome';
  const { reason, runId, agentId, turns, usage, endedAt, ...evidence } = outcome as TerminalOutcome & Record<string, unknown>;
  void runId, void agentId, void turns, void usage, void endedAt;
  return `${reason} ${JSON.stringify(evidence)}`;
}

/** The run ended with this reason (and, when given, evidence matching `fields`, compared as JSON). */
export function toEndWith(received: WithOutcome, reason: TerminalReason, fields: Record<string, unknown> = {}): MatcherResult {
  const outcome = outcomeOf(received);
  const mismatched = Object.entries(fields).filter(([k, v]) => JSON.stringify((outcome as Record<string, unknown> | null)?.[k]) !== JSON.stringify(v));
  const pass = outcome?.reason === reason && mismatched.length === 0;
  return {
    pass,
    message: () =>
      pass
        ? `expected the run not to end ${reason}, but it did: ${describeOutcome(outcome)}`
        : `expected the run to end ${reason}${mismatched.length ? ` with ${JSON.stringify(fields)}` : ''}, but it ended ${describeOutcome(outcome)}`,
  };
}

/** The tool was called: at least once, or exactly `times` logical calls (retries of one call count once). */
export function toHaveCalled(received: WithCalls, tool: string, times?: number): MatcherResult {
  const n = logical(callsOf(received), tool).length;
  const pass = times === undefined ? n > 0 : n === times;
  const wanted = times === undefined ? 'at least once' : `${times} time${times === 1 ? '' : 's'}`;
  return {
    pass,
    message: () => (pass ? `expected ${tool} not to be called ${wanted}, but it was called ${n} time(s)` : `expected ${tool} to be called ${wanted}, but it was called ${n} time(s)`),
  };
}

/** The first call of `first` started before the first call of `second`, and both were called. */
export function toHaveCalledBefore(received: WithCalls, first: string, second: string): MatcherResult {
  const calls = callsOf(received);
  const a = calls.findIndex((c) => c.tool === first);
  const b = calls.findIndex((c) => c.tool === second);
  const pass = a !== -1 && b !== -1 && a < b;
  const order = calls.map((c) => c.tool).join(' → ') || 'no calls';
  return {
    pass,
    message: () => (pass ? `expected ${first} not to be called before ${second}; calls: ${order}` : `expected ${first} to be called before ${second}; calls: ${order}`),
  };
}

/** The matchers, for `expect.extend`. */
export const reinsMatchers = { toEndWith, toHaveCalled, toHaveCalledBefore };
