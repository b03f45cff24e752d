import { z } from 'zod';
import { appendLines, lastDecoded, readDecoded } from './jsonl.js';

/** One model step's messages; the step number is what makes a repeated append a no-op. */
const TranscriptLine = z.object({ step: z.number().int().nonnegative(), messages: z.array(z.json()) });

/** Appends the step's messages unless the log already has this step or a later one (the caller holds the run's lock). */
export async function appendTranscript(path: string, step: number, messages: readonly unknown[]): Promise<void> {
  const last = await lastDecoded(path, TranscriptLine);
  if (last && step <= last.step) return;
  await appendLines(path, [JSON.stringify({ step, messages })]);
}

/** Every message, oldest first; a torn line (a crash mid-append) is skipped. */
export async function readTranscript(path: string): Promise<unknown[]> {
  return (await readDecoded(path, TranscriptLine)).flatMap((line) => line.messages);
}
