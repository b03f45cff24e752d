import { randomBytes } from 'node:crypto';
import { open, readdir, rename } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { hasCode, ifExists, removeFile } from './io.js';
import { isAlive, SELF } from './process-id.js';

/** `.<target>.<pid>-<started>.<rand>.tmp`: starts with "." so listings never take it for data, and names its writer so a sweep can tell a crashed one. */
const TEMP_NAME = /^\..+\.(\d+)-(\d+)\.[0-9a-f]+\.tmp$/;

/**
 * Replaces `path` with `data` so that a crash at any point leaves either the
 * old file or the new one: write a temp file in the same directory, fsync
 * it, rename it over the target, fsync the directory.
 */
export async function writeAtomic(path: string, data: string): Promise<void> {
  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}.${SELF.pid}-${SELF.started}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    const fh = await open(temp, 'wx');
    try {
      await fh.writeFile(data);
      await fh.datasync();
    } finally {
      await fh.close();
    }
    await rename(temp, path);
  } catch (err) {
    // Best effort: the write's own error is the one to report, and a leftover temp file is swept later.
    try {
      removeFile(temp);
    } catch {}
    throw err;
  }
  await syncDir(dir);
}

/** Makes a directory's entries (a rename, a new or removed file) durable. */
export async function syncDir(dir: string): Promise<void> {
  let fh;
  try {
    fh = await open(dir, 'r');
  } catch (err) {
    // Windows cannot open a directory; its renames are durable without it.
    if (hasCode(err, 'EISDIR', 'EPERM')) return;
    throw err;
  }
  try {
    await fh.datasync();
  } finally {
    await fh.close();
  }
}

/** Removes the temp files in `dir` whose writer is no longer running (it crashed mid-write); returns how many. */
export async function sweepTemps(dir: string): Promise<number> {
  let n = 0;
  for (const name of (await ifExists(readdir(dir))) ?? []) {
    const m = TEMP_NAME.exec(name);
    if (m && !isAlive({ pid: Number(m[1]), started: Number(m[2]) }) && removeFile(join(dir, name))) n++;
  }
  return n;
}
