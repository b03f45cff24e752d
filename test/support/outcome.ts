import { expect } from 'vitest';
import { TerminalOutcome, type OutcomeOf, type TerminalReason } from '../../index.js';

/** Parses with the exported schema and narrows to the expected member. */
export function expectReason<R extends TerminalReason>(outcome: unknown, reason: R): OutcomeOf<R> {
  const parsed = TerminalOutcome.parse(outcome);
  expect(parsed.reason).toBe(reason);
  return parsed as OutcomeOf<R>;
}
