import { closeSync, fstatSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { StoreUnavailableError } from '../errors.js';
import { decodeOrNull } from './decode.js';
import { hasCode, removeFile } from './io.js';
import { isAlive, SELF } from './process-id.js';

/** A lock is held for a handful of file operations; waiting this long means something is wrong, and the caller may retry. */
const GIVE_UP_MS = 5_000;
/** A lock file without a readable holder (its creator crashed between create and write) is honoured this long. */
const UNREADABLE_STALE_MS = 3_000;
/** Upper bound of one jittered wait; contention clears in milliseconds. */
const MAX_WAIT_MS = 16;

/** Who holds a lock; a pid that is not positive would name a process group, so such a file counts as unreadable. */
const Holder = z.object({ pid: z.number().int().positive(), started: z.number(), at: z.number() });
type Holder = z.infer<typeof Holder>;

/** What a lock file was when looked at: its identity (to release or break only that file) and its holder. */
interface Seen {
  readonly dev: number;
  readonly ino: number;
  readonly mtimeMs: number;
  readonly text: string;
}

/**
 * Runs `fn` while holding the lock file at `path`, which is created with
 * O_EXCL and removed afterwards, so that processes sharing the folder take
 * turns. A lock whose holder is gone (its pid is dead) is broken. Rejects
 * with the fs error (ENOENT) when the lock's directory does not exist, and
 * with StoreUnavailableError after ~5 s of waiting. The file operations are
 * synchronous: each takes microseconds on a local disk, where a round trip
 * through libuv's thread pool costs tens, and a store takes a lock for every
 * write.
 */
export async function withLock<T>(path: string, fn: (unlock: () => void) => Promise<T>): Promise<T> {
  const held = await acquire(path);
  let locked = true;
  // `fn` may let go early, once the part that needs the lock is done: others need not wait for its slow tail (a sync).
  const unlock = () => {
    if (locked) release(path, held);
    locked = false;
  };
  try {
    return await fn(unlock);
  } finally {
    unlock();
  }
}

async function acquire(path: string): Promise<Seen> {
  const deadline = Date.now() + GIVE_UP_MS;
  let holder = '';
  for (let attempt = 0; Date.now() < deadline; attempt++) {
    const held = tryCreate(path);
    if (held) return held;
    const seen = look(path);
    // Released between our two looks: try again at once.
    if (seen === null) continue;
    holder = seen.text;
    if (isStale(seen) && breakLock(path, seen)) continue;
    await sleep(1 + Math.random() * Math.min(2 ** attempt, MAX_WAIT_MS));
  }
  throw new StoreUnavailableError(`lock ${path} is held by ${holder || 'an unknown process'}; gave up after ${GIVE_UP_MS} ms`);
}

/** Creates the lock file with its holder written in; null when it already exists. */
function tryCreate(path: string): Seen | null {
  let fd: number;
  try {
    fd = openSync(path, 'wx');
  } catch (err) {
    if (hasCode(err, 'EEXIST')) return null;
    throw err;
  }
  try {
    const text = JSON.stringify({ pid: SELF.pid, started: SELF.started, at: Date.now() } satisfies Holder);
    writeSync(fd, text);
    const st = fstatSync(fd);
    return { dev: st.dev, ino: st.ino, mtimeMs: st.mtimeMs, text };
  } catch (err) {
    // A lock file without its holder would be honoured for seconds: take it back.
    removeFile(path);
    throw err;
  } finally {
    closeSync(fd);
  }
}

/** The lock file as it is now, read through one descriptor so that identity and content belong together; null when it is gone. */
function look(path: string): Seen | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    if (hasCode(err, 'ENOENT')) return null;
    throw err;
  }
  try {
    const st = fstatSync(fd);
    return { dev: st.dev, ino: st.ino, mtimeMs: st.mtimeMs, text: readFileSync(fd, 'utf8') };
  } finally {
    closeSync(fd);
  }
}

/** Whether the holder is gone: its process is dead, or it never wrote its name and the file is old. */
function isStale(seen: Seen): boolean {
  const holder = decodeOrNull(Holder, seen.text);
  return holder ? !isAlive(holder) : Date.now() - seen.mtimeMs > UNREADABLE_STALE_MS;
}

/** Whether two looks saw the same lock file, not a new one at the same path. */
function same(a: Seen, b: Seen): boolean {
  return a.dev === b.dev && a.ino === b.ino && a.text === b.text;
}

/**
 * Removes the stale lock `seen`, and only it: two processes that both judged
 * it stale must not have the slower one remove the lock the faster one has
 * just taken. Breakers therefore take turns through a second O_EXCL file and
 * re-check the lock under it. Returns whether it is worth retrying at once.
 */
function breakLock(path: string, seen: Seen): boolean {
  const guard = `${path}.break`;
  let fd: number;
  try {
    fd = openSync(guard, 'wx');
  } catch (err) {
    if (!hasCode(err, 'EEXIST')) throw err;
    // A guard lives for microseconds; an old one was left by a breaker that crashed.
    const g = statSync(guard, { throwIfNoEntry: false });
    if (g && Date.now() - g.mtimeMs > UNREADABLE_STALE_MS) removeFile(guard);
    return false;
  }
  try {
    const now = look(path);
    if (now && same(now, seen)) removeFile(path);
    return true;
  } finally {
    closeSync(fd);
    removeFile(guard);
  }
}

/** Removes the lock file if it is still ours: delete() may have renamed the run's directory away, and another process may own the path now. */
function release(path: string, held: Seen): void {
  const st = statSync(path, { throwIfNoEntry: false });
  if (st && st.dev === held.dev && st.ino === held.ino) removeFile(path);
}
