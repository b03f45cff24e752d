import { z } from 'zod';
import { TraceEntry } from '../records.js';
import { writeAtomic } from './atomic.js';
import { decodeOrNull } from './decode.js';
import { appendLines, lastDecoded, linesBackward, readDecoded } from './jsonl.js';

/** Entries kept per run, as in every store. */
export const TRACE_CAP = 1_000;
/** Room above the cap before a compaction, so that the file is rewritten once per hundred appends, not on every one. */
const SLACK = 100;

/** A trace line carries its position in the file, so that an append learns the file's length from its last line alone. */
const TraceLine = z.object({ n: z.number().int().nonnegative(), entry: TraceEntry });

/** Appends entries (the caller holds the run's lock); past the cap, rewrites the file atomically with the last TRACE_CAP. */
export async function appendTrace(path: string, entries: readonly TraceEntry[]): Promise<void> {
  if (entries.length === 0) return;
  const next = ((await lastDecoded(path, TraceLine))?.n ?? -1) + 1;
  if (next + entries.length <= TRACE_CAP + SLACK) {
    await appendLines(path, entries.map((entry, i) => JSON.stringify({ n: next + i, entry })));
    return;
  }
  const kept = [...(await readDecoded(path, TraceLine)).map((line) => line.entry), ...entries].slice(-TRACE_CAP);
  await writeAtomic(path, kept.map((entry, n) => `${JSON.stringify({ n, entry })}\n`).join(''));
}

/** The last `limit` entries (at most TRACE_CAP), oldest first; torn lines are skipped. */
export async function readTrace(path: string, limit: number): Promise<TraceEntry[]> {
  const want = Math.min(limit, TRACE_CAP);
  const out: TraceEntry[] = [];
  for await (const line of linesBackward(path)) {
    if (out.length >= want) break;
    const decoded = decodeOrNull(TraceLine, line);
    if (decoded) out.push(decoded.entry);
  }
  return out.reverse();
}
