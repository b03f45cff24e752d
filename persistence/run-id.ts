import { z } from 'zod';

/**
 * Run ids become file names and Redis key parts, so they are restricted to a
 * safe alphabet: no path separators, no "..", no braces (hash tags), no spaces.
 */
export const RunId = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/, 'run ids are 1-128 characters: letters, digits, _ . : -, starting with a letter or digit')
  .refine((id) => !id.includes('..'), 'run ids may not contain ".."');

/** Returns the id when safe, throws InvalidRunIdError otherwise. */
export function checkRunId(runId: string): string {
  const parsed = RunId.safeParse(runId);
  if (!parsed.success) throw new InvalidRunIdError(runId, parsed.error.issues[0]?.message ?? 'invalid');
  return runId;
}

/** A run id that is not safe to use as a file name or key part. */
export class InvalidRunIdError extends Error {
  readonly kind = 'invalid-run-id';
  constructor(runId: string, detail: string) {
    super(`invalid run id ${JSON.stringify(runId.slice(0, 140))}: ${detail}`);
    this.name = 'InvalidRunIdError';
  }
}
