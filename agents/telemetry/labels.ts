import { groupOf, TERMINAL_REASONS, type OutcomeGroup, type TerminalReason } from '../../machines/outcome.js';

/** The label value that stands for every value past a label's cap (and for a reason reins does not know). */
export const OTHER = '_other';

/** Longer label values are cut: a label is a name, never a payload. */
const MAX_VALUE_LENGTH = 128;

/**
 * Keeps one label's set of values bounded. Agent ids and tool names are
 * bounded by what is registered, but a tool name comes from a model and a
 * model id from a provider: past `max` distinct values, new ones are
 * counted under `_other` instead of growing the series without end.
 */
export class BoundedLabel {
  readonly #seen = new Set<string>();
  readonly #max: number;

  constructor(max: number) {
    this.#max = max;
  }

  /** The value to use for `raw`: itself (cut to 128 characters) while the cap allows, `_other` after. */
  value(raw: string): string {
    const value = raw.length > MAX_VALUE_LENGTH ? raw.slice(0, MAX_VALUE_LENGTH) : raw;
    if (this.#seen.has(value)) return value;
    if (this.#seen.size >= this.#max) return OTHER;
    this.#seen.add(value);
    return value;
  }
}

const KNOWN_REASONS: ReadonlySet<string> = new Set(TERMINAL_REASONS);

/** A stored reason as a label pair; a reason this version does not know (a newer writer's) is `_other`. */
export function reasonLabels(reason: string): { reason: string; group: OutcomeGroup | typeof OTHER } {
  return KNOWN_REASONS.has(reason) ? { reason, group: groupOf(reason as TerminalReason) } : { reason: OTHER, group: OTHER };
}
