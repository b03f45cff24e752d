import type { RunFilter, RunSummary } from './records.js';

/** Whether a summary passes every filter given. */
export function matchesFilter(s: RunSummary, f: RunFilter): boolean {
  return (
    (f.status === undefined || s.status === f.status) &&
    (f.agentId === undefined || s.agentId === f.agentId) &&
    (f.reason === undefined || s.reason === f.reason) &&
    (f.parentId === undefined || s.parentId === f.parentId)
  );
}

/** Most recently updated first; ties by run id so listings are stable. */
export function newestFirst(list: RunSummary[]): RunSummary[] {
  return list.sort((a, b) => b.updatedAt - a.updatedAt || (a.runId < b.runId ? -1 : 1));
}
