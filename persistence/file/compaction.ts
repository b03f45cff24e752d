import type { TraceEntry } from '../records.js';
import type { RunFiles } from './layout.js';
import type { LineParts, TranscriptStep } from './log-line.js';
import { readLog, writeLog, type LogRead } from './run-log.js';
import type { RunState } from './run-state.js';
import { sealSteps } from './sealed-transcript.js';

/** Trace entries kept per run, as in every store. */
export const TRACE_CAP = 1_000;

/**
 * Whether the log has grown enough past its first line to be rewritten: by
 * `minBytes`, and by twice the first line, since a compaction costs about
 * what it writes, the first line of the next log. Load and disk use then stay
 * flat however long the run is.
 */
export function needsCompaction(state: RunState, minBytes: number): boolean {
  return state.end - state.baseEnd > Math.max(minBytes, 2 * state.baseEnd);
}

/**
 * Collects the trace entries of the lines it is shown, keeping the last
 * TRACE_CAP (with some slack, so that a long log is not spliced per line).
 */
export function traceCollector(): { each: (parts: LineParts) => void; entries: () => TraceEntry[] } {
  let entries: TraceEntry[] = [];
  return {
    each: (parts) => {
      if (!parts.trace) return;
      entries.push(...parts.trace);
      if (entries.length > 2 * TRACE_CAP) entries = entries.slice(-TRACE_CAP);
    },
    entries: () => entries.slice(-TRACE_CAP),
  };
}

/**
 * Rewrites the run's log as one line holding its state (the caller holds
 * the run's lock). The transcript steps still in the log move to the sealed
 * transcript first, durably, so that the new log only has to say where they
 * end; the new log then replaces the old one atomically. A crash at any point
 * leaves the old log, or the new one, in place, each whole. Retention
 * passes `dropTrace` to rewrite it without the trace.
 */
export async function compact(files: RunFiles, options: { readonly dropTrace?: boolean } = {}): Promise<LogRead> {
  const trace = traceCollector();
  const steps: TranscriptStep[] = [];
  const read = readLog(files.log, null, {
    cut: true,
    each: (parts) => {
      trace.each(parts);
      if (parts.transcript) steps.push(...parts.transcript);
    },
  });
  if (read.kind !== 'read') return read;
  const { state } = read;
  const bytes = steps.length > 0 ? await sealSteps(files.transcript, state.sealed.bytes, steps) : state.sealed.bytes;
  const parts: LineParts = {
    sealed: { bytes, lastStep: state.lastStep },
    journal: state.entries(),
    trace: options.dropTrace ? [] : trace.entries(),
    ...(state.acked.size > 0 ? { commands: [...state.acked] } : {}),
  };
  const record = state.recordText === null ? null : { text: state.recordText, envelope: null };
  return { kind: 'read', state: await writeLog(files, { parts, record }) };
}
