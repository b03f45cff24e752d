import { randomUUID } from 'node:crypto';
import { RunExistsError } from '../../persistence/errors.js';
import type { Pipeline } from '../pipeline.js';
import type { StartRunOptions, Supervisor } from '../supervisor.js';
import { RunNotFoundError } from '../errors.js';
import type { SliceRoute, WakeReason } from './queue-keys.js';
import { routeOf } from './route.js';

/** What a supervisor hands runs to: the fleet's slice queue (SliceQueue), seen from the runtime. */
export interface RunQueue {
  /** Enqueues a new run's first slice on its route (one job per run id, however often it is called). */
  first(runId: string, options: { tenant: string; priority: number; route: SliceRoute }): Promise<void>;
  /** Enqueues a child run's first slice on its route, under its parent's tenant and priority (one job per child, however often it is called). */
  child(runId: string, parentId: string, route: SliceRoute): Promise<void>;
  /** Asks for a run's next slice, now or after `delayMs`. */
  wake(runId: string, why: WakeReason, delayMs?: number): Promise<void>;
}

/** How to submit a run to the fleet. */
export interface SubmitOptions<I = unknown> extends Omit<StartRunOptions<I>, 'parentId'> {
  /** BullMQ priority: 0 (default) first come first served; 1 is the highest, larger numbers later. */
  readonly priority?: number;
  /** Whose run it is: a tenant's concurrent slices are capped by the workers' tenantCap. Default `default`. */
  readonly tenant?: string;
}

/**
 * Creates the run durably, owned by nobody, and enqueues its first slice;
 * returns its id without waiting for any of it to run. Submitting the same
 * run id again is the same run: the store refuses a second creation and the
 * first slice's job id is the same. The run goes to the queue of the
 * versions its record names (a run submitted again after a deploy stays on
 * the route it was created on).
 */
export async function submitRun(supervisor: Supervisor, queue: RunQueue, target: string | Pipeline<unknown>, options: SubmitOptions = {}): Promise<string> {
  const runId = options.runId ?? randomUUID();
  const { priority = 0, tenant = 'default', ...start } = options;
  try {
    await supervisor.createRun(target, { ...start, runId });
  } catch (error) {
    if (!(error instanceof RunExistsError)) throw error;
  }
  const record = await supervisor.store.load(runId);
  if (!record) throw new RunNotFoundError(runId);
  await queue.first(runId, { tenant, priority, route: routeOf(record) });
  return runId;
}
