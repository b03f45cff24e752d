import { createHash } from 'node:crypto';
import { z } from 'zod';
import { DEFAULT_SECRET_KEYS, redact } from './redact.js';

/**
 * One tool call as the supervision guards see it: what was called, with which
 * arguments, and what came back, as short hashes so that the window the loop
 * and progress guards keep in the snapshot stays small.
 */
export const ActionRecord = z.object({
  step: z.number().int().nonnegative(),
  tool: z.string(),
  argsHash: z.string(),
  resultHash: z.string(),
  ok: z.boolean(),
  /** What an operator reads in LOOP_DETECTED evidence, e.g. `search {"q":"refund policy"}`; bounded so the window stays small. */
  label: z.string().optional(),
});
export type ActionRecord = z.infer<typeof ActionRecord>;

/** JSON with object keys sorted, so that `{a,b}` and `{b,a}` hash alike. */
export function stableStringify(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      return Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    }
    return v;
  }) ?? 'undefined';
}

/** A 64-bit hex digest of a value's stable JSON form. */
export function hashValue(value: unknown): string {
  return createHash('sha256').update(stableStringify(value)).digest('hex').slice(0, 16);
}

const LABEL_CHARS = 60;

/**
 * A short readable form of a call: the tool and the start of its arguments,
 * with secret keys redacted first (labels are stored and shown as evidence).
 */
export function actionLabel(tool: string, rawArguments: string, secretKeys: readonly string[] = DEFAULT_SECRET_KEYS): string {
  let shown = rawArguments;
  try {
    shown = JSON.stringify(redact(JSON.parse(rawArguments) as unknown, secretKeys));
  } catch {
    // Malformed arguments are shown as sent, cut short; they carried no parsed keys to redact.
  }
  const args = shown.length > LABEL_CHARS ? `${shown.slice(0, LABEL_CHARS - 1)}…` : shown;
  return `${tool} ${args}`;
}

/** The call's identity for repetition checks: same tool and same arguments. */
export function callSignature(action: Pick<ActionRecord, 'tool' | 'argsHash'>): string {
  return `${action.tool}#${action.argsHash}`;
}
