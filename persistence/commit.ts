import type { JournalEntry } from './records.js';
import type { JournalStart, RunCommit } from './store.js';

/** A commit of `runId` holding only the given parts: how single-part operations (save, journal, transcript) go through `commit`. */
export function commitOf(runId: string, parts: Partial<Omit<RunCommit, 'runId'>>): RunCommit {
  return { runId, transcript: [], journalDone: [], record: null, trace: [], journalStart: null, trimBelow: null, ackCommands: [], ...parts };
}


/** The `started` entry a commit records for its call: who started it (the lease token) and the window it may run in. */
export function startedEntry(start: JournalStart, at: number, token: number | undefined): Extract<JournalEntry, { status: 'started' }> {
  return { status: 'started', key: start.key, step: start.step, at, ...(token === undefined ? {} : { token }), ...start.window };
}
