import { closeSync, fstatSync, ftruncateSync, openSync, readSync, statSync, writeSync } from 'node:fs';
import { writeAtomic } from './atomic.js';
import { datasync, hasCode } from './io.js';
import { frame, headerId, HEADER_BYTES, newHeader, readFrames } from './log-frame.js';
import type { RunFiles } from './layout.js';
import { decodeLine, encodeLine, type LineParts, type LogLine } from './log-line.js';
import { RunState } from './run-state.js';
import { writeSlot } from './summary-slot.js';

/** What reading a run's log found. */
export type LogRead =
  | { readonly kind: 'missing' }
  | { readonly kind: 'read'; readonly state: RunState }
  | { readonly kind: 'damaged'; readonly path: string; readonly detail: string };

/** How to read: a writer (holding the run's lock) cuts a torn tail off; `each` sees the parts of every line read (full scans). */
export interface ReadOptions {
  readonly cut?: boolean;
  readonly each?: (parts: LineParts) => void;
}

/**
 * Brings `cached` up to date with the log at `path`, reading only what was
 * appended since, or reads the log afresh when there is no cached state or
 * the file is another one (a compaction replaced it). Synchronous, so that a
 * state and the bytes it was read from never drift apart within this process.
 * A torn tail (bytes without a newline) is left out, and cut off when `cut`;
 * a whole line that fails its checksum, last or not, is reported as damage.
 */
export function readLog(path: string, cached: RunState | null, options: ReadOptions = {}): LogRead {
  let fd: number;
  try {
    fd = openSync(path, options.cut ? 'r+' : 'r');
  } catch (err) {
    if (hasCode(err, 'ENOENT')) return { kind: 'missing' };
    throw err;
  }
  try {
    const { size, ino } = fstatSync(fd);
    const id = headerId(readAt(fd, 0, Math.min(HEADER_BYTES, size)));
    if (id === null) return { kind: 'damaged', path, detail: 'no log header' };
    let state = cached && cached.logId === id && cached.end <= size ? cached : null;
    if (state && state.end === size) return { kind: 'read', state };
    const from = state ? state.end : HEADER_BYTES;
    const frames = readFrames(readAt(fd, from, size - from), from);
    for (const [i, { payload, end }] of frames.lines.entries()) {
      const line = decodeLine(payload);
      if (!line.ok) return { kind: 'damaged', path, detail: `${line.detail} (line at byte ${i === 0 ? from : frames.lines[i - 1]!.end})` };
      state ??= new RunState(id, ino, from, end);
      state.apply(line.value);
      state.end = end;
      options.each?.(line.value.parts);
    }
    if (frames.rest === 'corrupt') return { kind: 'damaged', path, detail: `the whole line at byte ${frames.end} fails its checksum` };
    // Every log is written with its first line (see writeLog): without one, the file is not a log.
    if (state === null) return { kind: 'damaged', path, detail: 'no first line' };
    const bad = state.checkRecord();
    if (bad !== null) return { kind: 'damaged', path, detail: `${bad} (the last record before byte ${state.end})` };
    if (frames.rest === 'torn' && options.cut) {
      // Cutting destroys bytes: only a fresh read of the whole log, not one trusting what was read before, may decide it.
      if (from !== HEADER_BYTES) return readLog(path, null, options);
      ftruncateSync(fd, frames.end);
    }
    return { kind: 'read', state };
  } finally {
    closeSync(fd);
  }
}

/**
 * Appends one line and makes it durable. The caller holds the run's lock and
 * has just read the log, so the file ends where `state` does; `unlock` lets
 * the lock go once the line is written, since the lock guards the check and
 * the write, not the sync: another process may go on meanwhile, and it syncs
 * what it read before it appends (as this does). The state takes the line at
 * once, before the sync: this process must never read its own line back as
 * news. On failure the caller must drop the state.
 */
export async function appendLine(files: RunFiles, state: RunState, line: LogLine, unlock: () => void): Promise<void> {
  const text = frame(encodeLine(line));
  const fd = openSync(files.log, 'r+');
  try {
    // Lines another writer left may not be durable yet; ours must not be durable without them (a power loss would leave a hole).
    if (state.syncedEnd < state.end) await datasync(fd);
    state.syncedEnd = state.end;
    const at = state.end;
    let written: number;
    try {
      written = writeSync(fd, text, at);
      if (written !== Buffer.byteLength(text)) throw new Error(`short write to ${files.log}`);
    } catch (err) {
      // Best effort, and still under the lock: the write's own error is the one to report.
      try {
        ftruncateSync(fd, at);
      } catch {}
      throw err;
    }
    // The sync runs in the thread pool while the state and the summary slot follow the line.
    const synced = datasync(fd);
    try {
      state.apply(line);
      state.end = at + written;
      writeSummary(files, state);
      unlock();
    } finally {
      // The descriptor is closed below: its sync must be over first, whatever happened meanwhile.
      await synced;
    }
    state.syncedEnd = Math.max(state.syncedEnd, at + written);
  } finally {
    closeSync(fd);
  }
}

/** Replaces the run's log (atomically) with a new one whose first line is `line`; returns its state. */
export async function writeLog(files: RunFiles, line: LogLine): Promise<RunState> {
  const header = newHeader();
  const text = header.text + frame(encodeLine(line));
  await writeAtomic(files.log, text);
  const size = Buffer.byteLength(text);
  const state = new RunState(header.id, statSync(files.log).ino, size, size);
  state.syncedEnd = size;
  state.apply(line);
  // A compaction carries the record over as text: its envelope is read again here, as a reader of the new log would.
  const bad = state.checkRecord();
  if (bad !== null) throw new Error(`run log ${files.log} was written with a record that does not read back: ${bad}`);
  writeSummary(files, state);
  return state;
}

/**
 * Points the run's summary slot at the state just written. Best effort: the
 * slot is a cache of the log, and one that was not written only makes list()
 * read the log, so it must not fail a commit that is already in the log.
 */
export function writeSummary(files: RunFiles, state: RunState): void {
  try {
    if (state.summary) writeSlot(files.summary, { ino: state.ino, end: state.end, summary: state.summary });
  } catch (err) {
    process.emitWarning(err as Error);
  }
}

function readAt(fd: number, position: number, length: number): Buffer {
  const buf = Buffer.allocUnsafe(length);
  let n = 0;
  while (n < length) {
    const got = readSync(fd, buf, n, length - n, position + n);
    if (got === 0) break;
    n += got;
  }
  return buf.subarray(0, n);
}
