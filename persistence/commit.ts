import type { RunCommit } from './store.js';

/** A commit of `runId` holding only the given parts: how single-part operations (save, journal, transcript) go through `commit`. */
export function commitOf(runId: string, parts: Partial<Omit<RunCommit, 'runId'>>): RunCommit {
  return { runId, transcript: [], journalDone: [], record: null, trace: [], journalStart: null, trimBelow: null, ...parts };
}

/** Whether the commit carries anything that writes (an empty one is answered without touching the store). */
export function isEmptyCommit(c: RunCommit): boolean {
  return c.record === null && c.journalStart === null && c.trimBelow === null && c.transcript.length === 0 && c.journalDone.length === 0 && c.trace.length === 0;
}
