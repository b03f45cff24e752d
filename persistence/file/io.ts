import { fdatasync, readFileSync, statSync, unlinkSync } from 'node:fs';
import { promisify } from 'node:util';

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

/**
 * The file's text, or null when it does not exist. Synchronous, as are the
 * helpers below: the store's files are small, and on a local disk each call
 * takes microseconds where a round trip through libuv's thread pool takes tens.
 */
export function readText(path: string): string | null {
  return readBytes(path)?.toString('utf8') ?? null;
}

/** The file's bytes, or null when it does not exist. */
export function readBytes(path: string): Buffer | null {
  try {
    return readFileSync(path);
  } catch (err) {
    if (hasCode(err, 'ENOENT')) return null;
    throw err;
  }
}

/** Whether a file exists. */
export function exists(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false }) !== undefined;
}

/** Removes a file; false when it was already gone. */
export function removeFile(path: string): boolean {
  try {
    unlinkSync(path);
    return true;
  } catch (err) {
    if (hasCode(err, 'ENOENT')) return false;
    throw err;
  }
}

/** Makes a descriptor's written data durable, in the thread pool: the one wait of a commit, and other runs go on meanwhile. */
export const datasync = promisify(fdatasync);
