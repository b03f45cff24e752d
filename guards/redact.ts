/** Key names whose values never reach a log line or an operator listing. */
export const DEFAULT_SECRET_KEYS: readonly string[] = ['password', 'apiKey', 'api_key', 'token', 'secret', 'authorization', 'cookie'];

/** A copy of `value` with every property named in `keys` (any depth, case-insensitive) replaced by "[redacted]". */
export function redact(value: unknown, keys: readonly string[]): unknown {
  const secret = new Set(keys.map((k) => k.toLowerCase()));
  const walk = (v: unknown, depth: number): unknown => {
    if (depth > 32 || v === null || typeof v !== 'object') return v;
    if (Array.isArray(v)) return v.map((x) => walk(x, depth + 1));
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      out[k] = secret.has(k.toLowerCase()) ? '[redacted]' : walk(x, depth + 1);
    }
    return out;
  };
  return walk(value, 0);
}
