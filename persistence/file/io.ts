import { readFile, stat, unlink } from 'node:fs/promises';

/** Whether `err` is a Node system error with one of `codes` (ENOENT, EEXIST …). */
export function hasCode(err: unknown, ...codes: string[]): boolean {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' && codes.includes(code);
}

/** Whether `err` came from the operating system (it names a syscall), as opposed to a store or validation error. */
export function isSystemError(err: unknown): err is NodeJS.ErrnoException {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).syscall === 'string';
}

/** The operation's result, or null when its file or directory does not exist (another process may have just removed it). */
export async function ifExists<T>(op: Promise<T>): Promise<T | null> {
  try {
    return await op;
  } catch (err) {
    if (hasCode(err, 'ENOENT')) return null;
    throw err;
  }
}

/** The file's text, or null when it does not exist. */
export function readText(path: string): Promise<string | null> {
  return ifExists(readFile(path, 'utf8'));
}

/** Whether a file exists. */
export async function exists(path: string): Promise<boolean> {
  return (await ifExists(stat(path))) !== null;
}

/** Removes a file; false when it was already gone. */
export async function removeFile(path: string): Promise<boolean> {
  return (await ifExists(unlink(path).then(() => true))) ?? false;
}
