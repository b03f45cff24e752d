import { JournalEntry, type RunSummary } from '../records.js';
import { decode } from './decode.js';
import { RecordEnvelope, type LogLine, type Sealed } from './log-line.js';

/** A journal entry as held in memory: its text, so that every reader gets its own copy, and what the commit rules look at. */
interface HeldEntry {
  readonly step: number;
  readonly done: boolean;
  readonly text: string;
}

/**
 * What a run's log adds up to, read up to `end`: everything a commit checks
 * (version, journal, transcript step) and load() and journalGet() answer.
 * Trace and transcript contents stay on disk; they are read when asked for.
 */
export class RunState {
  /** The log file this state was read from (its header id, and its inode for summary slots) and where in it reading stopped. */
  readonly logId: string;
  readonly ino: number;
  end: number;
  /** How much of the log this process knows to be durable: its own synced lines, not those it read from other writers. */
  syncedEnd = 0;
  /** Where the log's first line (the state it was started or compacted with) ends: growth past it is what compaction reclaims. */
  readonly baseEnd: number;
  version = 0;
  summary: RunSummary | null = null;
  recordText: string | null = null;
  /** Whether the last record applied has yet to be checked (see checkRecord). */
  #unchecked = false;
  sealed: Sealed = { bytes: 0, lastStep: -1 };
  /** The last transcript step in the log or the sealed file: a step at or below it is a repeat. */
  lastStep = -1;
  readonly #journal = new Map<string, HeldEntry>();
  /** Ids of commands a commit acknowledged (see LineParts.commands); a compaction carries them on. */
  readonly acked = new Set<string>();

  constructor(logId: string, ino: number, end: number, baseEnd: number) {
    this.logId = logId;
    this.ino = ino;
    this.end = end;
    this.baseEnd = baseEnd;
  }

  /** Applies one line, in the order LineParts documents. */
  apply({ parts, record }: LogLine): void {
    if (parts.sealed) {
      this.sealed = parts.sealed;
      this.lastStep = Math.max(this.lastStep, parts.sealed.lastStep);
    }
    for (const { step } of parts.transcript ?? []) this.lastStep = Math.max(this.lastStep, step);
    for (const entry of parts.journal ?? []) this.#journal.set(entry.key, { step: entry.step, done: entry.status === 'done', text: JSON.stringify(entry) });
    if (record) {
      this.recordText = record.text;
      this.#unchecked = record.envelope === null;
      if (record.envelope) {
        this.version = record.envelope.version;
        this.summary = record.envelope.summary;
      }
    }
    if (parts.trim !== undefined) for (const key of this.keysBelow(parts.trim)) this.#journal.delete(key);
    for (const id of parts.commands ?? []) this.acked.add(id);
  }

  /** Checks the envelope of the last record applied, if it was read unchecked: null when it is sound, else what is wrong. */
  checkRecord(): string | null {
    if (!this.#unchecked || this.recordText === null) return null;
    const envelope = decode(RecordEnvelope, this.recordText);
    if (!envelope.ok) return `record: ${envelope.detail}`;
    this.version = envelope.value.version;
    this.summary = envelope.value.summary;
    this.#unchecked = false;
    return null;
  }

  /** The entry of one key, parsed afresh. */
  entry(key: string): JournalEntry | null {
    const held = this.#journal.get(key);
    return held ? JournalEntry.parse(JSON.parse(held.text)) : null;
  }

  /** Whether the key has an entry, and whether it is `done`. */
  status(key: string): 'none' | 'started' | 'done' {
    const held = this.#journal.get(key);
    return held === undefined ? 'none' : held.done ? 'done' : 'started';
  }

  /** Keys of entries with a step below `step`. */
  keysBelow(step: number): string[] {
    return [...this.#journal].filter(([, held]) => held.step < step).map(([key]) => key);
  }

  /** Every entry, parsed afresh (a compaction writes them all). */
  entries(): JournalEntry[] {
    return [...this.#journal.values()].map((held) => JournalEntry.parse(JSON.parse(held.text)));
  }
}
