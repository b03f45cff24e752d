import { JournalEntry, type RunSummary } from '../records.js';
import type { LogLine, Sealed } from './log-line.js';

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
  /** The record as a line carried it, made into text only when asked for: of a long log read at once, only the last is. */
  #record: LogLine['record'] | null = null;
  #recordText: string | null = null;
  sealed: Sealed = { bytes: 0, lastStep: -1 };
  /** The last transcript step in the log or the sealed file: a step at or below it is a repeat. */
  lastStep = -1;
  readonly #journal = new Map<string, HeldEntry>();

  constructor(logId: string, ino: number, end: number, baseEnd: number) {
    this.logId = logId;
    this.ino = ino;
    this.end = end;
    this.baseEnd = baseEnd;
  }

  /** Applies one line, in the order LogLine documents; `recordText` is the record's JSON when the caller has it already. */
  apply(line: LogLine, recordText?: string): void {
    if (line.sealed) {
      this.sealed = line.sealed;
      this.lastStep = Math.max(this.lastStep, line.sealed.lastStep);
    }
    for (const { step } of line.transcript ?? []) this.lastStep = Math.max(this.lastStep, step);
    for (const entry of line.journal ?? []) this.#journal.set(entry.key, { step: entry.step, done: entry.status === 'done', text: JSON.stringify(entry) });
    if (line.record) {
      this.version = line.record.version;
      this.summary = line.record.summary;
      // The caller's text, when it has one, is the record as it was at commit time: the object may be the caller's to change.
      this.#record = recordText === undefined ? line.record : null;
      this.#recordText = recordText ?? null;
    }
    if (line.trim !== undefined) for (const key of this.keysBelow(line.trim)) this.#journal.delete(key);
  }

  /** The record's JSON; null before the first record. */
  get recordText(): string | null {
    if (this.#recordText === null && this.#record) this.#recordText = JSON.stringify(this.#record);
    return this.#recordText;
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
