import { createHash } from 'node:crypto';
import { z } from 'zod';

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

/** A short readable form of a call: the tool and the start of its raw arguments. */
export function actionLabel(tool: string, rawArguments: string): string {
  const args = rawArguments.length > LABEL_CHARS ? `${rawArguments.slice(0, LABEL_CHARS - 1)}…` : rawArguments;
  return `${tool} ${args}`;
}

/** The call's identity for repetition checks: same tool and same arguments. */
export function callSignature(action: Pick<ActionRecord, 'tool' | 'argsHash'>): string {
  return `${action.tool}#${action.argsHash}`;
}
