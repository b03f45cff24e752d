import { Queue } from 'bullmq';
import type { Cluster, Redis } from 'ioredis';
import { fleetKeys } from '../../persistence/redis/keys.js';
import { fleetClient, prefixOf, type FleetConnection } from './connection.js';
import { FIRST_SLICE, routeQueue, SLICE_QUEUE, SliceRoute, sliceJobId, timerJobId, type SliceJobData, type WakeReason } from './queue-keys.js';

/** The tenant of a run submitted without one. */
export const DEFAULT_TENANT = 'default';

/** Job options every slice job gets: ids are unique, so a finished job is dropped; a failing slice is retried, slowly, for a long time. */
const JOB_DEFAULTS = {
  removeOnComplete: true,
  removeOnFail: { count: 1_000 },
  // A slice that throws (store unreachable, a bug) is retried: the job is the run's only hint that it has work to do.
  attempts: 1_000,
  backoff: { type: 'fixed', delay: 1_000 },
} as const;

/** How many slice jobs are in each state. */
export interface QueueDepth {
  readonly waiting: number;
  readonly active: number;
  readonly delayed: number;
  readonly prioritized: number;
  readonly failed: number;
}

/** One route's queue and its jobs by state. */
export interface RouteDepth {
  readonly route: SliceRoute;
  readonly depth: QueueDepth;
}

/** A run's fleet fields, as HMGET returns them: tenant, priority, route (JSON). */
type RunFields = [string | null, string | null, string | null];

const EMPTY: QueueDepth = { waiting: 0, active: 0, delayed: 0, prioritized: 0, failed: 0 };

/**
 * The dispatch side of the fleet: enqueues slices of runs, each on the queue
 * of its run's route (agent, agent version, chart version), which only the
 * workers that host that route take. Jobs are hints ("run R has something to
 * do"); the run store stays the truth, and the run's lease decides who acts
 * on a hint.
 */
export class SliceQueue {
  readonly #client: Redis | Cluster;
  readonly #keys: ReturnType<typeof fleetKeys>;
  readonly #queues = new Map<string, Queue<SliceJobData>>();

  constructor(connection: FleetConnection) {
    this.#keys = fleetKeys(prefixOf(connection));
    this.#client = fleetClient(connection);
  }

  /** The BullMQ prefix of every slice queue (hash-tagged). */
  get prefix(): string {
    return this.#keys.queuePrefix;
  }

  /** The Redis key of the workers' heartbeats. */
  get workersKey(): string {
    return this.#keys.workers;
  }

  /** The client the queue uses (heartbeats and counters ride on it). */
  get client(): Redis | Cluster {
    return this.#client;
  }

  /** The BullMQ queue named `name` (a route's, or the one of the release before routing). */
  queue(name: string): Queue<SliceJobData> {
    let queue = this.#queues.get(name);
    if (!queue) {
      queue = new Queue<SliceJobData>(name, { connection: this.#client, prefix: this.#keys.queuePrefix, defaultJobOptions: JOB_DEFAULTS });
      queue.on('error', () => undefined);
      this.#queues.set(name, queue);
    }
    return queue;
  }

  /** Enqueues a child run's first slice with its parent's tenant and priority (a child is its parent's work). */
  async child(runId: string, parentId: string, route: SliceRoute): Promise<void> {
    const [tenant, priority] = await this.#client.hmget(this.#keys.run(parentId), 'tenant', 'priority');
    await this.first(runId, { tenant: tenant ?? DEFAULT_TENANT, priority: Number(priority ?? 0), route });
  }

  /**
   * Enqueues a new run's first slice on its route, remembering its tenant,
   * priority and route for every later slice. The job id is fixed (slice 0):
   * submitting one run twice enqueues it once.
   */
  async first(runId: string, options: { tenant: string; priority: number; route: SliceRoute }): Promise<void> {
    await this.#client.sadd(this.#keys.routes, JSON.stringify(options.route));
    await this.#client.hset(this.#keys.run(runId), 'tenant', options.tenant, 'priority', String(options.priority), 'route', JSON.stringify(options.route));
    await this.queue(routeQueue(options.route)).add(
      SLICE_QUEUE,
      { runId, why: 'submit', tenant: options.tenant },
      { jobId: sliceJobId(runId, FIRST_SLICE), ...(options.priority > 0 ? { priority: options.priority } : {}) },
    );
  }

  /** Records the route a run's later slices go to: the versions its record was last stored by. */
  async reroute(runId: string, route: SliceRoute): Promise<void> {
    await this.#client.sadd(this.#keys.routes, JSON.stringify(route));
    await this.#client.hset(this.#keys.run(runId), 'route', JSON.stringify(route));
  }

  /**
   * Asks for the run's next slice on its route, now or after `delayMs` (a
   * timer coming due). Every wake is a new job (the run's slice counter
   * numbers it): a wake is never swallowed by a job of the same id still in
   * flight. A run queued before routes existed goes to the old queue, whose
   * workers forward it.
   */
  async wake(runId: string, why: WakeReason, delayMs = 0): Promise<void> {
    const key = this.#keys.run(runId);
    const [[, slice], [, fields]] = (await this.#client.multi().hincrby(key, 'slices', 1).hmget(key, 'tenant', 'priority', 'route').exec()) as [[null, number], [null, RunFields]];
    await this.#add(runId, why, sliceJobId(runId, slice), fields, delayMs);
  }

  /**
   * Asks for the run's next slice when its timer comes due (`dueAt`), as one
   * delayed job per due time (timerJobId): resting again on a timer already
   * asked for adds nothing. `current` is the job of the slice asking: should
   * it carry that very id (a clock ahead of the one that queued it), the
   * timer becomes a numbered wake, since BullMQ would drop an id in flight.
   */
  async timer(runId: string, dueAt: number, current?: string): Promise<void> {
    const jobId = timerJobId(runId, dueAt);
    if (jobId === current) return this.wake(runId, 'timer', dueAt - Date.now());
    const fields = (await this.#client.hmget(this.#keys.run(runId), 'tenant', 'priority', 'route')) as RunFields;
    await this.#add(runId, 'timer', jobId, fields, dueAt - Date.now());
  }

  /** Adds a slice job on the run's route (the queue of the release before routing when it has none). */
  async #add(runId: string, why: WakeReason, jobId: string, [tenant, priority, route]: RunFields, delayMs: number): Promise<void> {
    const rank = Number(priority ?? 0);
    const queue = this.queue(route === null ? SLICE_QUEUE : routeQueue(SliceRoute.parse(JSON.parse(route))));
    await queue.add(SLICE_QUEUE, { runId, why, tenant: tenant ?? DEFAULT_TENANT }, { jobId, ...(delayMs > 0 ? { delay: Math.ceil(delayMs) } : {}), ...(rank > 0 ? { priority: rank } : {}) });
  }

  /** Every route a run was ever queued on, with its queue's jobs by state. */
  async routes(): Promise<RouteDepth[]> {
    const routes = await this.#knownRoutes();
    const depths = await Promise.all(routes.map((route) => this.#depthOf(routeQueue(route))));
    return routes.map((route, i) => ({ route, depth: depths[i]! })).sort((a, b) => routeQueue(a.route).localeCompare(routeQueue(b.route)));
  }

  /** Every route's queue, and the queue of the release before routing: where to look for a run's jobs. */
  async queues(): Promise<Queue<SliceJobData>[]> {
    const routes = await this.#knownRoutes();
    return [...routes.map((route) => this.queue(routeQueue(route))), this.queue(SLICE_QUEUE)];
  }

  /** Jobs by state, over every route (and the queue of the release before routing). */
  async depth(): Promise<QueueDepth> {
    const all = [...(await this.routes()).map((r) => r.depth), await this.#depthOf(SLICE_QUEUE)];
    return all.reduce((sum, d) => ({
      waiting: sum.waiting + d.waiting,
      active: sum.active + d.active,
      delayed: sum.delayed + d.delayed,
      prioritized: sum.prioritized + d.prioritized,
      failed: sum.failed + d.failed,
    }), EMPTY);
  }

  async #depthOf(name: string): Promise<QueueDepth> {
    const c = await this.queue(name).getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'failed');
    return { waiting: c.waiting ?? 0, active: c.active ?? 0, delayed: c.delayed ?? 0, prioritized: c.prioritized ?? 0, failed: c.failed ?? 0 };
  }

  /** Every route a run was ever queued on. */
  async #knownRoutes(): Promise<SliceRoute[]> {
    return (await this.#client.smembers(this.#keys.routes)).map((text) => SliceRoute.parse(JSON.parse(text)));
  }

  /** Closes the queues and their connection. */
  async close(): Promise<void> {
    await Promise.all([...this.#queues.values()].map((q) => q.close()));
    this.#client.disconnect();
  }
}
