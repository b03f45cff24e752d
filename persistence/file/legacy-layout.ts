import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { JournalEntry, RunRecord, TraceEntry } from '../records.js';
import { TRACE_CAP } from './compaction.js';
import { decode, decodeOrNull } from './decode.js';
import { hasCode, readBytes, readText } from './io.js';
import { isDataFile, type RunFiles } from './layout.js';
import { TranscriptStep, type LogLine } from './log-line.js';
import { writeLog, type LogRead } from './run-log.js';

/** A trace line of the previous layout. */
const TraceLine = z.object({ n: z.number().int().nonnegative(), entry: TraceEntry });

/**
 * Runs stored by the previous layout (record.json, journal/<key>.json and
 * trace.jsonl beside transcript.jsonl, each file replaced or appended on its
 * own) are moved into a run log the first time they are used, under the
 * run's lock: the log's first line is built from those files and written
 * atomically, then they are removed. transcript.jsonl stays where it is, as
 * the sealed transcript, since its lines have the same form. A damaged
 * record or journal entry quarantines the run as it always did, with its
 * bytes left as they are.
 */
export async function migrateLegacy(runDir: string, files: RunFiles): Promise<LogRead> {
  const line = readLegacy(runDir);
  if (line.kind !== 'run') return line;
  // The previous layout could leave a torn last step without its newline: the sealed part ends before it, and the
  // next compaction cuts it off before it seals steps after it.
  const transcript = readBytes(files.transcript) ?? Buffer.alloc(0);
  const bytes = transcript.lastIndexOf(0x0a) + 1;
  const lastStep = transcript.toString('utf8', 0, bytes).split('\n').reduce((last, text) => decodeOrNull(TranscriptStep, text)?.step ?? last, -1);
  const state = await writeLog(files, { parts: { ...line.base.parts, sealed: { bytes, lastStep } }, record: line.base.record });
  for (const name of ['record.json', 'journal', 'trace.jsonl']) rmSync(join(runDir, name), { recursive: true, force: true });
  return { kind: 'read', state };
}

/** The previous layout's record, journal and trace as a log's first line; missing when the run has no record.json. */
function readLegacy(runDir: string): { kind: 'run'; base: LogLine } | Extract<LogRead, { kind: 'missing' | 'damaged' }> {
  const recordPath = join(runDir, 'record.json');
  const text = readText(recordPath);
  if (text === null) return { kind: 'missing' };
  const record = decode(RunRecord, text);
  if (!record.ok) return { kind: 'damaged', path: recordPath, detail: record.detail };
  const journal: JournalEntry[] = [];
  for (const name of entryNames(join(runDir, 'journal'))) {
    const path = join(runDir, 'journal', name);
    const entry = decode(JournalEntry, readText(path) ?? 'null');
    if (!entry.ok) return { kind: 'damaged', path, detail: entry.detail };
    journal.push(entry.value);
  }
  const trace = (readText(join(runDir, 'trace.jsonl')) ?? '').split('\n').flatMap((l) => decodeOrNull(TraceLine, l)?.entry ?? []);
  return { kind: 'run', base: { parts: { journal, trace: trace.slice(-TRACE_CAP) }, record: { text: JSON.stringify(record.value), envelope: record.value } } };
}

function entryNames(dir: string): string[] {
  try {
    return readdirSync(dir).filter(isDataFile);
  } catch (err) {
    if (hasCode(err, 'ENOENT')) return [];
    throw err;
  }
}
