/**
 * Who wrote a lock or temp file: the pid alone is not enough, because a
 * restarted container gives its new process the same pid (often 1) as the
 * one that crashed, and that process's leftovers must not look like ours.
 */
export interface ProcessId {
  readonly pid: number;
  /** Process start, wall-clock ms (the same for every thread and module copy in the process). */
  readonly started: number;
}

/** This process. */
export const SELF: ProcessId = { pid: process.pid, started: Math.round(Date.now() - process.uptime() * 1000) };

/** Start times computed in two threads of one process differ by rounding only; an earlier process with our pid started well before. */
const SAME_START_MS = 1_000;

/** Whether the process that wrote a file may still be running (one machine, one pid namespace). */
export function isAlive(p: ProcessId): boolean {
  if (p.pid === SELF.pid) return Math.abs(p.started - SELF.started) < SAME_START_MS;
  try {
    process.kill(p.pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}
