import { pino } from 'pino';
import { DEFAULT_SECRET_KEYS } from './redact.js';

/** Structured fields of one log line. */
export type LogFields = Record<string, unknown>;

/**
 * What reins logs through: one structured line per call, fields first. pino's
 * loggers fit it as they are; any other logger can be adapted in a few lines.
 * reins' own type, so that a user's type check never reads a logging library's.
 */
export interface Logger {
  /** A line about normal progress (transitions, calls). */
  info(fields: LogFields, message: string): void;
  /** Something went wrong and reins handled it. */
  warn(fields: LogFields, message: string): void;
  /** Something went wrong that an operator should look at. */
  error(fields: LogFields, message: string): void;
  /** Detail for debugging. */
  debug(fields: LogFields, message: string): void;
  /** A logger that adds `bindings` to every line. */
  child(bindings: LogFields): Logger;
}

/** Where the default logger writes its JSON lines (a stream, or anything with `write`). */
export interface LogDestination {
  write(line: string): void;
}

/** Options of the default logger. */
export interface LoggerOptions {
  /** pino's level name: trace, debug, info, warn, error, fatal or silent (default `REINS_LOG_LEVEL`, else silent). */
  readonly level?: string;
  /** Keys censored wherever reins logs them, beside reins' own list of secret keys. */
  readonly redact?: readonly string[];
  /** Where lines go (default stdout). */
  readonly destination?: LogDestination;
}

/**
 * The default logger: JSON lines on stdout at `REINS_LOG_LEVEL` (default
 * "silent" so that the demo's display and test output stay readable). Secret
 * keys are censored by pino itself at the top levels reins logs.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const keys = [...DEFAULT_SECRET_KEYS, ...(options.redact ?? [])];
  const config = {
    level: options.level ?? process.env.REINS_LOG_LEVEL ?? 'silent',
    base: { lib: 'reins' },
    redact: { paths: keys.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]), censor: '[redacted]' },
  };
  return options.destination ? pino(config, options.destination) : pino(config);
}
