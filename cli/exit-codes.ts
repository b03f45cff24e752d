import { CommanderError } from 'commander';
import { MachineMismatchError, RunEndedError, UnknownAgentError } from '../agents/supervisor.js';
import { RunNotFoundError } from '../agents/errors.js';
import { CorruptRecordError, RunExistsError, StoreUnavailableError, UnknownRunError } from '../persistence/errors.js';
import { InvalidRunIdError } from '../persistence/run-id.js';

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

/** The exit code and one-line message for any error: never a stack trace (set REINS_DEBUG=1 for one). */
export function describeFailure(error: unknown): { exitCode: ExitCode; message: string } {
  const message = oneLine(error instanceof Error ? error.message : String(error));
  if (error instanceof CliError) return { exitCode: error.exitCode, message };
  if (error instanceof CommanderError) return { exitCode: error.exitCode === 0 ? ExitCode.ok : ExitCode.usage, message: message.replace(/^error: /, '') };
  if (error instanceof StoreUnavailableError) return { exitCode: ExitCode.storeUnreachable, message: `store unreachable: ${message}` };
  if (error instanceof RunNotFoundError || error instanceof UnknownRunError || error instanceof InvalidRunIdError) {
    return { exitCode: ExitCode.notFound, message };
  }
  if (error instanceof UnknownAgentError) return { exitCode: ExitCode.notFound, message: `${message} (load agent definitions with --agents <module> or REINS_AGENTS)` };
  if (error instanceof RunEndedError || error instanceof RunExistsError) return { exitCode: ExitCode.conflict, message };
  if (error instanceof MachineMismatchError || error instanceof CorruptRecordError) return { exitCode: ExitCode.failed, message };
  return { exitCode: ExitCode.failed, message: `${error instanceof Error ? error.name : 'error'}: ${message}` };
}

/** Multi-line messages (commander's suggestions, wrapped causes) folded onto one line. */
export function oneLine(text: string): string {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .join(' ');
}
