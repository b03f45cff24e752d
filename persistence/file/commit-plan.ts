import { startedEntry } from '../commit.js';
import { StaleVersionError } from '../errors.js';
import { TraceEntry, type JournalEntry } from '../records.js';
import type { RunCommit } from '../store.js';
import { RecordEnvelope, type LineParts, type LineRecord, type LogLine, type TranscriptStep } from './log-line.js';
import type { RunState } from './run-state.js';

type Done = Extract<JournalEntry, { status: 'done' }>;

/** What a commit does to a run: the log line to append (null when it changes nothing) and what it found. */
export interface CommitPlan {
  readonly line: LogLine | null;
  /** The existing entry of the commit's `journalStart` key. */
  readonly existing: JournalEntry | null;
  /** How many journal entries the commit's trim drops. */
  readonly trimmed: number;
}

/**
 * The rules of a commit (the same as MemoryStore's), checked against the
 * run's state before anything is written: a stale version throws and writes
 * nothing; repeated transcript steps, second results and `started` over an
 * existing entry are left out of the line. `token` is the fence's lease token,
 * recorded in `started`.
 */
export function planCommit(state: RunState, c: RunCommit, now: number, token: number | undefined): CommitPlan {
  if (c.record && state.version !== c.record.version - 1) throw new StaleVersionError(c.runId, c.record.version - 1, state.version);
  const parts: { -readonly [K in keyof LineParts]: LineParts[K] } = {};

  let lastStep = state.lastStep;
  const transcript: TranscriptStep[] = [];
  for (const { step, messages } of c.transcript) {
    if (step <= lastStep) continue;
    lastStep = step;
    transcript.push({ step, messages: messages as TranscriptStep['messages'] });
  }
  if (transcript.length > 0) parts.transcript = transcript;

  const added = new Map<string, JournalEntry>();
  const status = (key: string) => added.get(key)?.status ?? state.status(key);
  for (const { key, step, result } of c.journalDone) {
    // A call's outcome is recorded once: a replay must see the same result.
    if (status(key) !== 'done') added.set(key, { status: 'done', key, step, at: now, result: (result ?? null) as Done['result'] });
  }

  let record: LineRecord | null = null;
  if (c.record) {
    const envelope = RecordEnvelope.parse(c.record);
    record = { text: JSON.stringify(envelope), envelope };
  }
  if (c.trace.length > 0) parts.trace = c.trace.map((e) => TraceEntry.parse(e));

  let existing: JournalEntry | null = null;
  if (c.journalStart) {
    const { key } = c.journalStart;
    existing = added.get(key) ?? state.entry(key);
    if (existing === null) added.set(key, startedEntry(c.journalStart, now, token));
  }
  if (added.size > 0) parts.journal = [...added.values()];

  let trimmed = 0;
  if (c.trimBelow !== null) {
    const below = new Set(state.keysBelow(c.trimBelow));
    for (const e of added.values()) {
      if (e.step < c.trimBelow) below.add(e.key);
      else below.delete(e.key);
    }
    trimmed = below.size;
    if (trimmed > 0) parts.trim = c.trimBelow;
  }
  const acks = c.ackCommands.filter((id) => !state.acked.has(id));
  if (acks.length > 0) parts.commands = acks;
  return { line: record || Object.keys(parts).length > 0 ? { parts, record } : null, existing, trimmed };
}
