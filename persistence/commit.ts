import type { RunCommit } from './store.js';

/** A commit of `runId` holding only the given parts: how single-part operations (save, journal, transcript) go through `commit`. */
export function commitOf(runId: string, parts: Partial<Omit<RunCommit, 'runId'>>): RunCommit {
  return { runId, transcript: [], journalDone: [], record: null, trace: [], journalStart: null, trimBelow: null, ...parts };
}

