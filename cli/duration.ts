import { InvalidArgumentError } from 'commander';

const UNIT_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/**
 * `--since`: a span back from now (`90s`, `10m`, `2h`, `7d`, `1w`), an ISO
 * date or time (`2025-06-01`, `2025-06-01T12:00Z`), or epoch milliseconds.
 * Returns epoch ms.
 */
export function parseSince(value: string, now = Date.now()): number {
  const span = spanMs(value);
  if (span !== null) return now - span;
  if (/^\d{12,}$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  if (!Number.isNaN(at) && /^\d{4}-\d{2}-\d{2}/.test(value.trim())) return at;
  throw new InvalidArgumentError(`expected a span like 10m, 2h, 7d, an ISO date, or epoch ms; got ${JSON.stringify(value)}`);
}

/** A span (`90s`, `10m`, `2h`, `7d`, `1w`) in ms, or null when the value is not one. */
function spanMs(value: string): number | null {
  const span = /^(\d+(?:\.\d+)?)\s*(s|m|h|d|w)$/i.exec(value.trim());
  return span ? Math.round(Number(span[1]) * UNIT_MS[span[2]!.toLowerCase()]!) : null;
}

/** A positive span flag value (`90s`, `10m`, `2h`, `7d`, `1w`) in ms, or commander's usage error. */
export function parseSpan(value: string): number {
  const ms = spanMs(value);
  if (ms === null || ms <= 0) throw new InvalidArgumentError(`expected a span like 90s, 10m, 2h, 7d, 1w; got ${JSON.stringify(value)}`);
  return ms;
}

/** A share between 0 and 1 (`0.1`, or `10%`), or commander's usage error. */
export function parseShare(value: string): number {
  const percent = value.trim().endsWith('%');
  const n = Number(percent ? value.trim().slice(0, -1) : value);
  const share = percent ? n / 100 : n;
  if (value.trim() === '' || !Number.isFinite(share) || share < 0 || share > 1) throw new InvalidArgumentError(`expected a share between 0 and 1 (0.1 or 10%), got ${JSON.stringify(value)}`);
  return share;
}

/** A positive integer flag value, or commander's usage error. */
export function parsePositiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n <= 0) throw new InvalidArgumentError(`expected a positive integer, got ${JSON.stringify(value)}`);
  return n;
}

/** A non-negative integer flag value, or commander's usage error. */
export function parseNonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError(`expected a non-negative integer, got ${JSON.stringify(value)}`);
  return n;
}

/** How long ago, in the largest unit that keeps it short: 42s, 5m, 3h, 2d. */
export function age(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86_400)}d`;
}
