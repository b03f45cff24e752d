import { pino, type DestinationStream, type Logger } from 'pino';
import { DEFAULT_SECRET_KEYS } from './redact.js';

export type { Logger } from 'pino';

/**
 * The default logger: JSON lines on stdout at `REINS_LOG_LEVEL` (default
 * "silent" so that the demo's display and test output stay readable). Secret
 * keys are censored by pino itself at the top levels reins logs.
 */
export function createLogger(options: { level?: string; redact?: readonly string[]; destination?: DestinationStream } = {}): Logger {
  const keys = [...DEFAULT_SECRET_KEYS, ...(options.redact ?? [])];
  const config = {
    level: options.level ?? process.env.REINS_LOG_LEVEL ?? 'silent',
    base: { lib: 'reins' },
    redact: { paths: keys.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]), censor: '[redacted]' },
  };
  return options.destination ? pino(config, options.destination) : pino(config);
}
