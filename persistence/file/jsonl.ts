import { open } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { z } from 'zod';
import { syncDir } from './atomic.js';
import { decodeOrNull } from './decode.js';
import { ifExists, readText } from './io.js';

/** Backward reads come in chunks this big, so reading the tail of a long log costs only the tail. */
const CHUNK = 64 * 1024;
const NEWLINE = 0x0a;

/**
 * Appends `lines` in a single write followed by fsync. A crash can leave the
 * last line torn (no newline); it is closed off first so that it stays one
 * bad line that readers skip, instead of swallowing the next good one.
 */
export async function appendLines(path: string, lines: readonly string[]): Promise<void> {
  if (lines.length === 0) return;
  const fh = await open(path, 'a+');
  let size: number;
  try {
    size = (await fh.stat()).size;
    const last = Buffer.alloc(1);
    if (size > 0) await fh.read(last, 0, 1, size - 1);
    const torn = size > 0 && last[0] !== NEWLINE;
    await fh.appendFile(`${torn ? '\n' : ''}${lines.join('\n')}\n`);
    await fh.datasync();
  } finally {
    await fh.close();
  }
  // An empty log may have been created by this very append: its directory entry must be durable too.
  if (size === 0) await syncDir(dirname(path));
}

/** The file's non-empty lines, first to last; a missing file has none. */
async function readLines(path: string): Promise<string[]> {
  return ((await readText(path)) ?? '').split('\n').filter((line) => line.length > 0);
}

/** Yields the file's non-empty lines last to first, reading backwards in chunks; a missing file has none. */
export async function* linesBackward(path: string): AsyncGenerator<string> {
  const fh = await ifExists(open(path, 'r'));
  if (fh === null) return;
  try {
    let pos = (await fh.stat()).size;
    // Bytes before the first newline seen so far: the end of a line whose start is further back.
    let carry = Buffer.alloc(0);
    while (pos > 0) {
      const len = Math.min(CHUNK, pos);
      pos -= len;
      const chunk = Buffer.alloc(len);
      await fh.read(chunk, 0, len, pos);
      const buf = Buffer.concat([chunk, carry]);
      let end = buf.length;
      for (let nl = buf.lastIndexOf(NEWLINE, end - 1); nl >= 0; nl = end > 0 ? buf.lastIndexOf(NEWLINE, end - 1) : -1) {
        if (end > nl + 1) yield buf.toString('utf8', nl + 1, end);
        end = nl;
      }
      carry = buf.subarray(0, end);
    }
    if (carry.length > 0) yield carry.toString('utf8');
  } finally {
    await fh.close();
  }
}

/** The last line that decodes with `schema` (a torn tail is skipped), or null. */
export async function lastDecoded<T>(path: string, schema: z.ZodType<T>): Promise<T | null> {
  for await (const line of linesBackward(path)) {
    const value = decodeOrNull(schema, line);
    if (value !== null) return value;
  }
  return null;
}

/** Every line that decodes with `schema`, first to last; torn lines are skipped. */
export async function readDecoded<T>(path: string, schema: z.ZodType<T>): Promise<T[]> {
  return (await readLines(path)).flatMap((line) => {
    const value = decodeOrNull(schema, line);
    return value === null ? [] : [value];
  });
}
