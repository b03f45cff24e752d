import { z } from 'zod';
import { JournalEntry, RunRecord, TraceEntry } from '../records.js';

/** One model step's messages, as a log line carries them and as the sealed transcript file stores them. */
export const TranscriptStep = z.object({ step: z.number().int().nonnegative(), messages: z.array(z.json()) });
export type TranscriptStep = z.infer<typeof TranscriptStep>;

/**
 * What every line checks of a record: all but the snapshot and outcome, whose
 * deep JSON checks would cost more than the rest of a replay; load() checks
 * those. The version (compare-and-set) and summary (list) are always sound.
 */
export const RecordEnvelope = RunRecord.extend({ snapshot: z.unknown(), outcome: z.unknown() });

/** Where the transcript's steps that compactions moved out of the log end: only the file's first `bytes` count. */
export const Sealed = z.object({ bytes: z.number().int().nonnegative(), lastStep: z.number().int() });
export type Sealed = z.infer<typeof Sealed>;

/**
 * One line of a run log: what one commit changed, only the parts that
 * changed something. Replaying applies the parts in the order of the fields
 * (journal entries in array order, so a commit's results come before the
 * `started` it records), which is the order of RunCommit. A log's first line
 * is the whole state of the run: its record, journal and trace, and `sealed`.
 */
export const LogLine = z.object({
  sealed: Sealed.optional(),
  transcript: z.array(TranscriptStep).optional(),
  journal: z.array(JournalEntry).optional(),
  record: RecordEnvelope.optional(),
  trace: z.array(TraceEntry).optional(),
  /** Journal entries of steps below this one were dropped. */
  trim: z.number().int().optional(),
});
export type LogLine = z.infer<typeof LogLine>;

/** A line's JSON text; `recordText` is the record's JSON when the caller has made it already (it is most of the line). */
export function encodeLine(line: LogLine, recordText?: string): string {
  if (!line.record || recordText === undefined) return JSON.stringify(line);
  const rest = JSON.stringify({ ...line, record: undefined });
  return `${rest.slice(0, -1)}${rest.length > 2 ? ',' : ''}"record":${recordText}}`;
}
