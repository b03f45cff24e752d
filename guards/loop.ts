import { z } from 'zod';
import { type ActionRecord, callSignature } from './action.js';

/** How a loop showed itself: one call repeated, a cycle of calls, or an identical call recurring among others. */
export const LoopPattern = z.enum(['repeat', 'cycle', 'stale-repeat']);
export type LoopPattern = z.infer<typeof LoopPattern>;

/** When repetition counts as a loop; the defaults are conservative because a false stop costs a whole run. */
export const LoopPolicy = z.object({
  /** How many most recent actions are examined; bounds both the cost per call and what the snapshot must keep. */
  window: z.number().int().min(4).default(24),
  /** Back-to-back repetitions of a call or cycle that make a loop; 2 would flag an ordinary re-check. */
  minRepeats: z.number().int().min(2).default(3),
  /** Longest cycle looked for (A-B-C-D). */
  maxPeriod: z.number().int().min(1).default(4),
  /** How often an identical call with an identical result may recur, interleaved with other calls, within the window. */
  staleRepeats: z.number().int().min(2).default(5),
  /** Used by the machine: the first detection warns the model instead of ending the run. */
  warnFirst: z.boolean().default(true),
});
export type LoopPolicy = z.output<typeof LoopPolicy>;

/**
 * The detector's answer. `actions` is the repeating block as call signatures,
 * oldest first, so `actions.length === period` for every pattern (a
 * stale-repeat's block is the one recurring call).
 */
export type LoopVerdict =
  | { looping: false }
  | { looping: true; pattern: LoopPattern; period: number; repeats: number; window: number; actions: string[] };

/** Decides whether the most recent actions repeat without changing anything; pure; history is oldest-first; only the last `policy.window` entries are examined. */
export function detectLoop(history: readonly ActionRecord[], policy: LoopPolicy): LoopVerdict {
  const recent = history.slice(-policy.window);
  const outcomes = outcomeIds(recent);
  return tailCycle(recent, outcomes.ids, policy) ?? staleRepeat(recent, outcomes, policy) ?? { looping: false };
}

interface Outcomes {
  /** Equal ids mean same tool, same arguments and same result: a repetition that changed nothing. */
  ids: number[];
  /** Index of the last action whose (call, result) had not been seen earlier in the window. */
  lastNovel: number;
}

/** Numbers each distinct (tool, args, result) so later comparisons are integer compares, not string compares. */
function outcomeIds(recent: readonly ActionRecord[]): Outcomes {
  const seen = new Map<string, number>();
  const ids: number[] = [];
  let lastNovel = -1;
  recent.forEach((action, index) => {
    // JSON of a tuple is injective, so no tool name or hash can collide with another split.
    const key = JSON.stringify([action.tool, action.argsHash, action.resultHash]);
    let id = seen.get(key);
    if (id === undefined) {
      id = seen.size;
      seen.set(key, id);
      lastNovel = index;
    }
    ids.push(id);
  });
  return { ids, lastNovel };
}

/**
 * The tail is one block of `period` outcomes repeated back to back. Periods are
 * tried smallest first, so a block that is itself periodic is reported by its
 * primitive period, and a run of one outcome is a `repeat`, never a `cycle`.
 * O(window * maxPeriod) at worst, and the scan stops at the first mismatch.
 */
function tailCycle(recent: readonly ActionRecord[], ids: readonly number[], policy: LoopPolicy): LoopVerdict | undefined {
  const n = ids.length;
  for (let period = 1; period <= policy.maxPeriod && period * policy.minRepeats <= n; period++) {
    let matching = 0;
    while (matching < n - period && ids[n - 1 - matching] === ids[n - 1 - matching - period]) matching++;
    const repeats = Math.floor(matching / period) + 1;
    if (repeats >= policy.minRepeats) {
      return {
        looping: true,
        pattern: period === 1 ? 'repeat' : 'cycle',
        period,
        repeats,
        window: policy.window,
        actions: recent.slice(n - period).map(callSignature),
      };
    }
  }
  return undefined;
}

/**
 * An identical call and result recurs, interleaved with other calls, and
 * nothing since its first counted occurrence was new. "New" means a (call,
 * result) pair not seen earlier in the window rather than a new result hash:
 * a write with new arguments that answers the same "ok" changed the world,
 * and treating it as stale would stop legitimate batch work. Counting only
 * after the last novel action also makes a stale stretch that was since
 * broken by new information no longer count, like the tail rule of cycles.
 */
function staleRepeat(recent: readonly ActionRecord[], outcomes: Outcomes, policy: LoopPolicy): LoopVerdict | undefined {
  const { ids, lastNovel } = outcomes;
  const stretch = new Map<number, { count: number; first: number; last: number }>();
  for (let index = Math.max(lastNovel, 0); index < ids.length; index++) {
    const id = ids[index] as number;
    const seen = stretch.get(id);
    if (seen) {
      seen.count++;
      seen.last = index;
    } else {
      stretch.set(id, { count: 1, first: index, last: index });
    }
  }
  let best: { count: number; last: number } | undefined;
  for (const occurrences of stretch.values()) {
    const interleaved = occurrences.last - occurrences.first + 1 > occurrences.count;
    if (occurrences.count < policy.staleRepeats || !interleaved) continue;
    if (!best || occurrences.count > best.count || (occurrences.count === best.count && occurrences.last > best.last)) best = occurrences;
  }
  if (!best) return undefined;
  return {
    looping: true,
    pattern: 'stale-repeat',
    period: 1,
    repeats: best.count,
    window: policy.window,
    actions: [callSignature(recent[best.last] as ActionRecord)],
  };
}
