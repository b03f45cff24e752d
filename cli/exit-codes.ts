import { CommanderError } from 'commander';

/** What `reins` exits with: scripts branch on these, so they never change meaning. */
export const ExitCode = {
  ok: 0,
  /** The operation ran and failed (a demo run ended with another reason than designed, a corrupt record). */
  failed: 1,
  /** Bad flags or arguments. */
  usage: 2,
  /** No such run, agent or approval item. */
  notFound: 3,
  /** The store cannot be reached (Redis down, folder unusable). */
  storeUnreachable: 4,
  /** The run is in no state for the command (already ended, not paused, not awaiting approval). */
  conflict: 5,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** The exit codes as `reins --help` and the README list them. */
export const EXIT_CODES_HELP = `Exit codes:
  0  ok
  1  the operation failed (e.g. a demo run did not end as designed)
  2  usage error (bad flags or arguments)
  3  not found (unknown run, agent or approval item)
  4  store unreachable
  5  conflict (run already ended, not paused, not awaiting approval)`;

/** An error the CLI reports as one line with its own exit code. */
export class CliError extends Error {
  readonly exitCode: ExitCode;
  constructor(exitCode: ExitCode, message: string) {
    super(message);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}

/** A run in no state for the command asked. */
export class ConflictError extends CliError {
  constructor(message: string) {
    super(ExitCode.conflict, message);
  }
}

/** Exit codes of the errors reins raises on purpose, by their `kind` tag (ReinsError, StoreError, InvalidRunIdError). */
const EXIT_BY_KIND: Readonly<Record<string, ExitCode>> = {
  'store-unavailable': ExitCode.storeUnreachable,
  'run-not-found': ExitCode.notFound,
  'unknown-run': ExitCode.notFound,
  'invalid-run-id': ExitCode.notFound,
  'unknown-agent': ExitCode.notFound,
  'run-ended': ExitCode.conflict,
  'run-exists': ExitCode.conflict,
  'machine-mismatch': ExitCode.failed,
  'corrupt-record': ExitCode.failed,
};

/** The exit code and one-line message for any error: never a stack trace (set REINS_DEBUG=1 for one). */
export function describeFailure(error: unknown): { exitCode: ExitCode; message: string } {
  const message = oneLine(error instanceof Error ? error.message : String(error));
  if (error instanceof CliError) return { exitCode: error.exitCode, message };
  if (error instanceof CommanderError) return { exitCode: error.exitCode === 0 ? ExitCode.ok : ExitCode.usage, message: message.replace(/^error: /, '') };
  // Switch on the errors' kind tags rather than their classes: this module stays light to load, and a tag never depends on which copy of a class threw.
  const kind = error instanceof Error && typeof (error as { kind?: unknown }).kind === 'string' ? (error as unknown as { kind: string }).kind : null;
  const exitCode = kind === null ? undefined : EXIT_BY_KIND[kind];
  if (exitCode === undefined) return { exitCode: ExitCode.failed, message: `${error instanceof Error ? error.name : 'error'}: ${message}` };
  if (kind === 'store-unavailable') return { exitCode, message: `store unreachable: ${message}` };
  if (kind === 'unknown-agent') return { exitCode, message: `${message} (define your agents in reins.config.ts, or load them with --agents <module>)` };
  return { exitCode, message };
}

/** Multi-line messages (commander's suggestions, wrapped causes) folded onto one line. */
export function oneLine(text: string): string {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .join(' ');
}
