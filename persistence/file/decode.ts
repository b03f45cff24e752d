import type { z } from 'zod';

/** A decoded value, or why the text is not one: the detail goes into CorruptRecordError messages. */
export type Decoded<T> = { ok: true; value: T } | { ok: false; detail: string; cause?: unknown };

/** Parses JSON text and validates it against `schema`. */
export function decode<T>(schema: z.ZodType<T>, text: string): Decoded<T> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    return { ok: false, detail: 'not JSON', cause };
  }
  const parsed = schema.safeParse(json);
  if (parsed.success) return { ok: true, value: parsed.data };
  return { ok: false, detail: parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ') };
}

/** The decoded value, or null when the text is not one (a torn log line). */
export function decodeOrNull<T>(schema: z.ZodType<T>, text: string): T | null {
  const d = decode(schema, text);
  return d.ok ? d.value : null;
}
