import { z } from 'zod';
import type { ActionRecord } from './action.js';

/** How often progress is judged (in turns) and how many failed checks in a row end the run as NO_PROGRESS. */
export const ProgressPolicy = z.object({
  everyTurns: z.number().int().min(1).default(6),
  maxFailedChecks: z.number().int().min(1).default(2),
});
export type ProgressPolicy = z.output<typeof ProgressPolicy>;

/** A judge's answer, with a reason an operator can read in the NO_PROGRESS evidence. */
export const ProgressVerdict = z.object({ progressing: z.boolean(), why: z.string() });
export type ProgressVerdict = z.infer<typeof ProgressVerdict>;

/** What a judge sees: the goal, the actions since the last check, and the ones before. */
export type ProgressJudgeInput = { goal: string; recentSteps: readonly ActionRecord[]; earlierSteps: readonly ActionRecord[] };

/** A pluggable judge: "are we meaningfully closer to the goal than N turns ago?" (a model-backed one comes later). */
export type ProgressJudge = (input: ProgressJudgeInput) => ProgressVerdict | Promise<ProgressVerdict>;

/** "4 repeated results of search, 1 failed call of fetch": most frequent first, first-seen order for ties, so the sentence is stable. */
function describeStale(stale: readonly ActionRecord[]): string {
  const counts = new Map<string, { n: number; action: ActionRecord }>();
  for (const action of stale) {
    const key = `${action.ok}:${action.tool}`;
    const entry = counts.get(key);
    if (entry) entry.n += 1;
    else counts.set(key, { n: 1, action });
  }
  return [...counts.values()]
    .sort((a, b) => b.n - a.n)
    .map(({ n, action }) => `${n} ${action.ok ? 'repeated result' : 'failed call'}${n === 1 ? '' : 's'} of ${action.tool}`)
    .join(', ');
}

/**
 * Default, model-free judge. Progressing when the recent window produced new
 * information: a successful action whose result hash was not seen before (in
 * earlier steps or earlier in the window). A state-changing call shows up the
 * same way, since ActionRecord only knows results. A window without any
 * action is not judged here (progressing, and the why says so): an agent
 * that only talks is bounded by the turn budget, and a judge that knows the
 * goal can do better. The goal is unused for the same reason.
 */
export const heuristicJudge = (input: ProgressJudgeInput): ProgressVerdict => {
  const { recentSteps, earlierSteps } = input;
  const n = recentSteps.length;
  if (n === 0) {
    return { progressing: true, why: 'no tool calls since the last check; talking without acting is left to the turn budget' };
  }
  const seen = new Set(earlierSteps.filter((a) => a.ok).map((a) => a.resultHash));
  const fresh: ActionRecord[] = [];
  const stale: ActionRecord[] = [];
  for (const action of recentSteps) {
    if (action.ok && !seen.has(action.resultHash)) {
      seen.add(action.resultHash);
      fresh.push(action);
    } else {
      stale.push(action);
    }
  }
  const last = `last ${n} action${n === 1 ? '' : 's'}`;
  if (fresh.length > 0) {
    const tools = [...new Set(fresh.map((a) => a.tool))].join(', ');
    return { progressing: true, why: `${fresh.length} of the ${last} returned something new (${tools})` };
  }
  return { progressing: false, why: `${last} returned nothing new: ${describeStale(stale)}` };
};

/** Whether a progress check is due after `turns` turns, given the turn of the last check (0 before the first). */
export function progressCheckDue(turns: number, lastCheckTurn: number, policy: ProgressPolicy): boolean {
  return turns - lastCheckTurn >= policy.everyTurns;
}
