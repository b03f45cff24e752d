import { z } from 'zod';

/**
 * The BullMQ queue of the release before version routing: every slice of
 * every run. Workers still drain it, forwarding each job to its run's route.
 */
export const SLICE_QUEUE = 'slices';

/** Which workers may host a run: those that serve its agent (or pipeline) id at the agent and chart versions it was stored by. */
export const SliceRoute = z.object({
  agentId: z.string(),
  version: z.string(),
  chart: z.number().int().positive(),
});
export type SliceRoute = z.infer<typeof SliceRoute>;

/**
 * The BullMQ queue of one route, `slices@<agentId>@<version>@<chart>` (ids
 * and versions URI-encoded: computed versions hold a `:`, which BullMQ
 * refuses in a queue name). Every queue shares the fleet's hash-tagged
 * prefix, so on Redis Cluster they all live in one slot, as BullMQ needs.
 */
export function routeQueue(route: SliceRoute): string {
  return `${SLICE_QUEUE}@${encodeURIComponent(route.agentId)}@${encodeURIComponent(route.version)}@${route.chart}`;
}

/** The same route, whatever object carries it. */
export function sameRoute(a: SliceRoute, b: SliceRoute): boolean {
  return a.agentId === b.agentId && a.version === b.version && a.chart === b.chart;
}

/** The slice number of a run's first job: submitting a run twice adds the same job twice, which BullMQ keeps once. */
export const FIRST_SLICE = 0;

/**
 * The BullMQ job id of slice `slice` of a run: `<runId>@<slice>`. BullMQ
 * refuses `:` in custom ids and run ids may hold one, so `:` is written `%3A`
 * (`%` and `@` are not in a run id's alphabet: the id maps back one way only).
 */
export function sliceJobId(runId: string, slice: number): string {
  return `${runId.replaceAll(':', '%3A')}@${slice}`;
}

/**
 * The BullMQ job id of the slice a run's timer asks for, due at `dueAt`:
 * `<runId>@t<dueAt>`. One id per due time, so a run that rests again on the
 * same timer (a sweep or a command woke it and it still waits) adds no second
 * job: BullMQ keeps one job per id.
 */
export function timerJobId(runId: string, dueAt: number): string {
  return `${runId.replaceAll(':', '%3A')}@t${dueAt}`;
}

/** What every slice job carries. */
export interface SliceJobData {
  readonly runId: string;
  /** Why this slice was asked for: submit, continue, timer, command, child, sweep. */
  readonly why: WakeReason;
  /** The run's tenant (its concurrent slices are capped per tenant). */
  readonly tenant: string;
}

/** What can wake a resting run. */
export type WakeReason = 'submit' | 'continue' | 'timer' | 'command' | 'child' | 'sweep' | 'retry';
