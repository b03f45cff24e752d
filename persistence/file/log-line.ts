import { z } from 'zod';
import { JournalEntry, RunRecord, TraceEntry } from '../records.js';
import { decode, type Decoded } from './decode.js';

/** One model step's messages, as a log line carries them and as the sealed transcript file stores them. */
export const TranscriptStep = z.object({ step: z.number().int().nonnegative(), messages: z.array(z.json()) });
export type TranscriptStep = z.infer<typeof TranscriptStep>;

/**
 * What is checked of a record when it is written and when it is read back:
 * all but the snapshot and outcome, whose deep JSON checks would cost more
 * than the rest of a commit; load() checks those. The version
 * (compare-and-set) and summary (list) are always sound.
 */
export const RecordEnvelope = RunRecord.extend({ snapshot: z.unknown(), outcome: z.unknown() });
export type RecordEnvelope = z.infer<typeof RecordEnvelope>;

/** Where the transcript's steps that compactions moved out of the log end: only the file's first `bytes` count. */
export const Sealed = z.object({ bytes: z.number().int().nonnegative(), lastStep: z.number().int() });
export type Sealed = z.infer<typeof Sealed>;

/**
 * What one commit changed besides its record, only the parts that changed
 * something. Replaying applies them in the order of the fields (journal
 * entries in array order, so a commit's results come before the `started` it
 * records), with the record between journal and trace: the order of
 * RunCommit. A log's first line is the whole state of the run: its record,
 * journal and trace, and `sealed`.
 */
export const LineParts = z.object({
  sealed: Sealed.optional(),
  transcript: z.array(TranscriptStep).optional(),
  journal: z.array(JournalEntry).optional(),
  trace: z.array(TraceEntry).optional(),
  /** Journal entries of steps below this one were dropped. */
  trim: z.number().int().optional(),
  /** Ids of queued commands whose effect this line's record holds: they are done, whether or not their files are gone yet. */
  commands: z.array(z.string()).optional(),
});
export type LineParts = z.infer<typeof LineParts>;

/** A line's record: its JSON, and its envelope once checked (a reader checks only the last record it reads: the others are superseded). */
export interface LineRecord {
  readonly text: string;
  readonly envelope: RecordEnvelope | null;
}

/** One line of a run log. */
export interface LogLine {
  readonly parts: LineParts;
  readonly record: LineRecord | null;
}

/**
 * A line's text: the parts' JSON after its length, then the record's JSON.
 * The record is most of a line, and of the lines a reader reads at once only
 * the last record counts: this way the others are never parsed.
 */
export function encodeLine(line: LogLine): string {
  const parts = JSON.stringify(line.parts);
  return `${parts.length} ${parts}${line.record?.text ?? ''}`;
}

/** A line read back: its parts checked, its record as text. */
export function decodeLine(payload: string): Decoded<LogLine> {
  const space = payload.indexOf(' ');
  const length = Number(payload.slice(0, space));
  const end = space + 1 + length;
  if (space < 1 || !Number.isSafeInteger(length) || end > payload.length) return { ok: false, detail: 'no length of the parts' };
  const parts = decode(LineParts, payload.slice(space + 1, end));
  if (!parts.ok) return parts;
  return { ok: true, value: { parts: parts.value, record: end < payload.length ? { text: payload.slice(end), envelope: null } : null } };
}
