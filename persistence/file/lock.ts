import { closeSync, fstatSync, linkSync, openSync, readdirSync, readFileSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { StoreUnavailableError } from '../errors.js';
import { decodeOrNull } from './decode.js';
import { exists, hasCode, removeFile } from './io.js';
import { isAlive, SELF } from './process-id.js';

/** A lock is held for a handful of file operations; waiting this long means something is wrong, and the caller may retry. */
const GIVE_UP_MS = 5_000;
/** A lock file without a readable holder (one of an earlier version, whose creator crashed between create and write) is honoured this long. */
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

/** `.lock-holder.<pid>-<started>`: a process's holder file, named for its process so that a sweep can tell a dead one's. */
const HOLDER_NAME = /^\.lock-holder\.(\d+)-(\d+)$/;

/**
 * Lock files, so that processes sharing a folder take turns: `with(path, fn)`
 * runs `fn` while the file at `path` is a hard link to this process's holder
 * file (which names the process), and removes it afterwards. link() fails
 * when the name exists, so taking a lock is one atomic step, and unlike
 * creating a file it allocates no inode: microseconds instead of the hundred
 * or so a create and an unlink cost, where a store takes a lock for every
 * write. A lock whose holder is gone (its pid is dead) is broken. `with`
 * rejects with the fs error (ENOENT) when the lock's directory does not
 * exist, and with StoreUnavailableError after ~5 s of waiting. The file
 * operations are synchronous: each takes microseconds on a local disk, where
 * a round trip through libuv's thread pool costs tens.
 */
export class LockFiles {
  /** This process's holder file, in the store's folder: the same file system as every lock, as hard links need. */
  readonly #holder: string;
  /** What a lock linked to the holder file looks like, once seen (it changes only if the holder file is made again). */
  #seen: Seen | null = null;

  constructor(dir: string) {
    this.#holder = join(dir, `.lock-holder.${SELF.pid}-${SELF.started}`);
  }

  /** Runs `fn` holding the lock at `path`; `fn` may let go early (`unlock`) once the part that needs the lock is done, so that others need not wait for its slow tail (a sync). */
  async with<T>(path: string, fn: (unlock: () => void) => Promise<T>): Promise<T> {
    const held = await this.#acquire(path);
    let locked = true;
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

  async #acquire(path: string): Promise<Seen> {
    const deadline = Date.now() + GIVE_UP_MS;
    let holder = '';
    for (let attempt = 0; Date.now() < deadline; attempt++) {
      const held = this.#tryLink(path);
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

  /** Links the lock to the holder file; null when the lock exists. */
  #tryLink(path: string): Seen | null {
    try {
      linkSync(this.#holder, path);
    } catch (err) {
      if (hasCode(err, 'EEXIST')) return null;
      // Either the lock's directory is missing (the caller's error) or the holder file is: made on first use.
      if (!hasCode(err, 'ENOENT') || exists(this.#holder)) throw err;
      writeHolder(this.#holder);
      this.#seen = null;
      return this.#tryLink(path);
    }
    this.#seen ??= look(path);
    return this.#seen;
  }
}

/** Creates this process's holder file (another store of this process may have just done so). */
function writeHolder(path: string): void {
  let fd: number;
  try {
    fd = openSync(path, 'wx');
  } catch (err) {
    if (hasCode(err, 'EEXIST')) return;
    throw err;
  }
  try {
    writeSync(fd, JSON.stringify({ pid: SELF.pid, started: SELF.started, at: Date.now() } satisfies Holder));
  } catch (err) {
    // Locks taken through a holder file without its holder would be honoured for seconds: take it back.
    removeFile(path);
    throw err;
  } finally {
    closeSync(fd);
  }
}

/** Removes the holder files in `dir` of processes that are no longer running (a lock still linked to one keeps its content); returns how many. */
export function sweepHolders(dir: string): number {
  let n = 0;
  for (const name of readdirSync(dir)) {
    const m = HOLDER_NAME.exec(name);
    if (m && !isAlive({ pid: Number(m[1]), started: Number(m[2]) }) && removeFile(join(dir, name))) n++;
  }
  return n;
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

/** Whether the holder is gone: its process is dead, or the lock names none and is old. */
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
