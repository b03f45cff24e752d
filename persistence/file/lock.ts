import { open, stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { StoreUnavailableError } from '../errors.js';
import { decodeOrNull } from './decode.js';
import { hasCode, ifExists, removeFile } from './io.js';
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
 * with StoreUnavailableError after ~5 s of waiting.
 */
export async function withLock<T>(path: string, fn: () => Promise<T>): Promise<T> {
  const held = await acquire(path);
  try {
    return await fn();
  } finally {
    await release(path, held);
  }
}

async function acquire(path: string): Promise<Seen> {
  const deadline = Date.now() + GIVE_UP_MS;
  let holder = '';
  for (let attempt = 0; Date.now() < deadline; attempt++) {
    const held = await tryCreate(path);
    if (held) return held;
    const seen = await look(path);
    // Released between our two looks: try again at once.
    if (seen === null) continue;
    holder = seen.text;
    if (isStale(seen) && (await breakLock(path, seen))) continue;
    await sleep(1 + Math.random() * Math.min(2 ** attempt, MAX_WAIT_MS));
  }
  throw new StoreUnavailableError(`lock ${path} is held by ${holder || 'an unknown process'}; gave up after ${GIVE_UP_MS} ms`);
}

/** Creates the lock file with its holder written in; null when it already exists. */
async function tryCreate(path: string): Promise<Seen | null> {
  let fh;
  try {
    fh = await open(path, 'wx');
  } catch (err) {
    if (hasCode(err, 'EEXIST')) return null;
    throw err;
  }
  try {
    const text = JSON.stringify({ pid: SELF.pid, started: SELF.started, at: Date.now() } satisfies Holder);
    await fh.writeFile(text);
    const st = await fh.stat();
    return { dev: st.dev, ino: st.ino, mtimeMs: st.mtimeMs, text };
  } catch (err) {
    // A lock file without its holder would be honoured for seconds: take it back.
    await removeFile(path);
    throw err;
  } finally {
    await fh.close();
  }
}

/** The lock file as it is now, read through one descriptor so that identity and content belong together; null when it is gone. */
async function look(path: string): Promise<Seen | null> {
  const fh = await ifExists(open(path, 'r'));
  if (fh === null) return null;
  try {
    const st = await fh.stat();
    return { dev: st.dev, ino: st.ino, mtimeMs: st.mtimeMs, text: await fh.readFile('utf8') };
  } finally {
    await fh.close();
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
async function breakLock(path: string, seen: Seen): Promise<boolean> {
  const guard = `${path}.break`;
  let fh;
  try {
    fh = await open(guard, 'wx');
  } catch (err) {
    if (!hasCode(err, 'EEXIST')) throw err;
    // A guard lives for microseconds; an old one was left by a breaker that crashed.
    const g = await ifExists(stat(guard));
    if (g && Date.now() - g.mtimeMs > UNREADABLE_STALE_MS) await removeFile(guard);
    return false;
  }
  try {
    const now = await look(path);
    if (now && same(now, seen)) await removeFile(path);
    return true;
  } finally {
    await fh.close();
    await removeFile(guard);
  }
}

/** Removes the lock file if it is still ours: delete() may have renamed the run's directory away, and another process may own the path now. */
async function release(path: string, held: Seen): Promise<void> {
  const st = await ifExists(stat(path));
  if (st && st.dev === held.dev && st.ino === held.ino) await removeFile(path);
}
