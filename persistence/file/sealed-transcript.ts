import { closeSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { decodeOrNull } from './decode.js';
import { datasync, ifExists } from './io.js';
import { TranscriptStep } from './log-line.js';

/**
 * The transcript steps compactions moved out of a run's log, one JSON line
 * per step. It only grows, so a compaction need not rewrite what earlier
 * ones moved: a log names how many of its bytes count (`sealed.bytes`), and
 * bytes past that (left by a compaction that crashed before its new log was
 * in place) are cut off by the next one.
 */

/** Appends `steps` after the first `from` bytes and makes them durable; returns where they end. */
export async function sealSteps(path: string, from: number, steps: readonly TranscriptStep[]): Promise<number> {
  const text = steps.map((s) => `${JSON.stringify(s)}\n`).join('');
  const fd = openSync(path, 'a');
  try {
    ftruncateSync(fd, from);
    writeSync(fd, text);
    // The file's directory entry becomes durable with the new log's rename, which syncs the same directory.
    await datasync(fd);
  } finally {
    closeSync(fd);
  }
  return from + Buffer.byteLength(text);
}

/** The messages of the first `bytes` bytes, oldest first. */
export async function readSealed(path: string, bytes: number): Promise<unknown[]> {
  if (bytes === 0) return [];
  const fh = await ifExists(open(path, 'r'));
  if (fh === null) return [];
  try {
    const buf = Buffer.alloc(bytes);
    const { bytesRead } = await fh.read(buf, 0, bytes, 0);
    const lines = buf.toString('utf8', 0, bytesRead).split('\n');
    // A line that does not decode is skipped, as the transcript always did (stores of the previous layout have torn ones).
    return lines.flatMap((line) => (line.length === 0 ? [] : (decodeOrNull(TranscriptStep, line)?.messages ?? [])));
  } finally {
    await fh.close();
  }
}
