import { closeSync, constants, openSync, writeSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { RunSummary } from '../records.js';
import { decode } from './decode.js';
import { ifExists } from './io.js';
import { frame, readFrames } from './log-frame.js';

/**
 * A run's summary beside its log, so that list() reads a few hundred bytes per
 * run instead of replaying logs. It is a cache of the log, rewritten in place
 * after every append without a sync, and names the log state it was written
 * for (the log file's inode and length): a reader uses it only while the log
 * is still exactly that, so a slot that a crash left stale or torn is never
 * believed.
 */
const Slot = z.object({ ino: z.number(), end: z.number().int(), summary: RunSummary });
type Slot = z.infer<typeof Slot>;

/** Overwrites the slot from its first byte: a reader takes its first line, so a longer old text left behind is ignored. */
export function writeSlot(path: string, slot: Slot): void {
  const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT);
  try {
    writeSync(fd, frame(JSON.stringify(slot)), 0);
  } finally {
    closeSync(fd);
  }
}

/** The slot's summary if it was written for the log as it is now (`ino`, `size`), else null. */
export async function readSlot(path: string, ino: number, size: number): Promise<RunSummary | null> {
  const bytes = await ifExists(readFile(path));
  const first = bytes && readFrames(bytes, 0).lines[0];
  if (!first) return null;
  const slot = decode(Slot, first.payload);
  return slot.ok && slot.value.ino === ino && slot.value.end === size ? slot.value.summary : null;
}
