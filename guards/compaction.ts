import { z } from 'zod';
import { lookupModel } from './cost.js';

/** When the transcript is compacted and what is kept verbatim. */
export const CompactionPolicy = z.object({
  /** Compact once the last call's input reached this share of the context window. */
  threshold: z.number().gt(0).max(1).default(0.8),
  /** Assistant turns kept verbatim at the end (the latest turn, whose results the model has not seen yet, is always kept). */
  keepRecentTurns: z.number().int().min(1).default(4),
  /** Tokens the model takes in; defaults to the model's own figure, then to DEFAULT_CONTEXT_WINDOWS. */
  contextWindow: z.number().int().positive().optional(),
  /** Longest summary, in characters (a digest is cut to it; a summariser is asked to stay within it). */
  maxSummaryChars: z.number().int().positive().default(6_000),
});
export type CompactionPolicy = z.output<typeof CompactionPolicy>;

/** Context windows (input tokens) of common models, from the providers' model pages as of mid-2025. */
export const DEFAULT_CONTEXT_WINDOWS: Readonly<Record<string, number>> = {
  'gpt-4o': 128_000,
  'gpt-4o-mini': 128_000,
  'claude-sonnet-4': 200_000,
  'claude-3-5-haiku': 200_000,
  'gemini-2.0-flash': 1_048_576,
};

/** The context window of a model id (same lookup as prices: exact, without a provider prefix, without a dated suffix). */
export function contextWindowOf(modelId: string, table: Readonly<Record<string, number>> = DEFAULT_CONTEXT_WINDOWS): number | undefined {
  return lookupModel(modelId, table);
}

/** Input tokens at which compaction is due: the threshold share of the window, whole tokens. */
export function compactionThresholdTokens(contextWindow: number, threshold: number): number {
  return Math.max(1, Math.floor(contextWindow * threshold));
}

/** Whether the last call's input filled the context past the threshold; unknown (null) after a compaction, until the next call measures it. */
export function compactionDue(contextTokens: number | null, thresholdTokens: number): boolean {
  return contextTokens !== null && contextTokens >= thresholdTokens;
}

/** Which raw transcript entries one compaction replaces: from `keep` (after the goal) up to `upTo` (the first kept turn). */
export interface CompactionPlan {
  readonly keep: number;
  readonly upTo: number;
}

/**
 * Plans a compaction of a raw transcript (messages and earlier markers):
 * keep the first entry when it is the goal (a user message), keep the last
 * `keepTurns` assistant turns with everything after them (0: keep nothing
 * after the goal), and replace what lies between. The cut falls on an
 * assistant message or at the end, so a tool call is never separated from
 * its results. Null when there is nothing new to replace (no turn to
 * replace, or nothing past the previous compaction).
 */
export function planCompaction(entries: ReadonlyArray<{ readonly role: string }>, keepTurns: number, previous: CompactionPlan | null): CompactionPlan | null {
  const keep = entries[0]?.role === 'user' ? 1 : 0;
  const turns: number[] = [];
  entries.forEach((e, i) => {
    if (e.role === 'assistant') turns.push(i);
  });
  if (turns.length <= keepTurns) return null;
  const upTo = keepTurns === 0 ? entries.length : turns[turns.length - keepTurns]!;
  if (upTo <= keep || (previous !== null && upTo <= previous.upTo)) return null;
  return { keep, upTo };
}
