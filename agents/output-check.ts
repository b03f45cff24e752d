import { matchSchema } from '../guards/validate.js';
import type { CallFailure } from '../machines/agent-machine.js';
import { toErrorInfo } from '../machines/outcome.js';
import { ReinsError } from './errors.js';
import type { ToolDefinition } from './tool.js';

/**
 * A call that returned, but whose result is a failure in disguise: it does
 * not parse with the tool's `output` schema, or its `failsWhen` gave a
 * reason (an error body under an HTTP 200, an empty page, a blank render).
 */
export class HiddenToolFailure extends ReinsError {
  readonly tool: string;
  readonly reason: string;
  constructor(tool: string, reason: string) {
    super('hidden-tool-failure', `${tool} returned a failure: ${reason}`);
    this.tool = tool;
    this.reason = reason;
  }
}

/** Why a returned value is no result of `def`, or null when it is one (or the tool checks nothing). */
export function outputProblem(def: ToolDefinition, value: unknown): string | null {
  const check = def.output;
  if (!check) return null;
  let parsed = value;
  if (check.schema) {
    const matched = matchSchema(check.schema, value, 'the result does not match the output schema');
    if (!matched.ok) return matched.hint;
    parsed = matched.value;
  }
  return check.failsWhen?.(parsed) || null;
}

/**
 * The failure a hidden one stands for, classified like a thrown error: a
 * tool that says a rejected result means nothing happened is safe to retry;
 * otherwise its side-effect class decides (in doubt for a non-idempotent one).
 */
export function hiddenFailure(def: ToolDefinition, reason: string): CallFailure {
  const error = toErrorInfo(new HiddenToolFailure(def.name, reason));
  return { ok: false, error: { name: error.name, message: error.message }, hidden: true, timedOut: false, ...(def.output?.nothingHappened ? { retryable: true } : {}) };
}
