import type { RunSummary } from './records.js';

/** Whether retention may touch a run whose stored summary is this: done and last updated before the cut-off (quarantine is checked apart, by each store). */
export function retirable(summary: RunSummary, updatedBefore: number): boolean {
  return summary.status === 'done' && summary.updatedAt < updatedBefore;
}
