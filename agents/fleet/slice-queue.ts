import { Queue } from 'bullmq';
import type { Cluster, Redis } from 'ioredis';
import { fleetKeys } from '../../persistence/redis/keys.js';
import { fleetClient, prefixOf, type FleetConnection } from './connection.js';
import { FIRST_SLICE, SLICE_QUEUE, sliceJobId, timerJobId, type SliceJobData, type WakeReason } from './queue-keys.js';

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

/**
 * The dispatch side of the fleet: enqueues slices of runs. Jobs are hints
 * ("run R has something to do"); the run store stays the truth, and the
 * run's lease decides who acts on a hint.
 */
export class SliceQueue {
  readonly queue: Queue<SliceJobData>;
  readonly #client: Redis | Cluster;
  readonly #keys: ReturnType<typeof fleetKeys>;

  constructor(connection: FleetConnection) {
    const prefix = prefixOf(connection);
    this.#keys = fleetKeys(prefix);
    this.#client = fleetClient(connection);
    this.queue = new Queue<SliceJobData>(SLICE_QUEUE, { connection: this.#client, prefix: this.#keys.queuePrefix, defaultJobOptions: JOB_DEFAULTS });
    this.queue.on('error', () => undefined);
  }

  /** The Redis key of the workers' heartbeats. */
  get workersKey(): string {
    return this.#keys.workers;
  }

  /** The client the queue uses (heartbeats and counters ride on it). */
  get client(): Redis | Cluster {
    return this.#client;
  }

  /**
   * Enqueues a new run's first slice, remembering its tenant and priority for
   * every later slice. The job id is fixed (slice 0): submitting one run twice
   * enqueues it once.
   */
  async first(runId: string, options: { tenant: string; priority: number }): Promise<void> {
    await this.#client.hset(this.#keys.run(runId), 'tenant', options.tenant, 'priority', String(options.priority));
    await this.queue.add(SLICE_QUEUE, { runId, why: 'submit', tenant: options.tenant }, { jobId: sliceJobId(runId, FIRST_SLICE), ...(options.priority > 0 ? { priority: options.priority } : {}) });
  }

  /**
   * Asks for the run's next slice, now or after `delayMs` (a timer coming
   * due). Every wake is a new job (the run's slice counter numbers it): a
   * wake is never swallowed by a job of the same id still in flight.
   */
  async wake(runId: string, why: WakeReason, delayMs = 0): Promise<void> {
    const key = this.#keys.run(runId);
    const [[, slice], [, fields]] = (await this.#client.multi().hincrby(key, 'slices', 1).hmget(key, 'tenant', 'priority').exec()) as [[null, number], [null, [string | null, string | null]]];
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
    const fields = (await this.#client.hmget(this.#keys.run(runId), 'tenant', 'priority')) as [string | null, string | null];
    await this.#add(runId, 'timer', jobId, fields, dueAt - Date.now());
  }

  async #add(runId: string, why: WakeReason, jobId: string, [tenant, priority]: [string | null, string | null], delayMs: number): Promise<void> {
    const rank = Number(priority ?? 0);
    await this.queue.add(SLICE_QUEUE, { runId, why, tenant: tenant ?? DEFAULT_TENANT }, { jobId, ...(delayMs > 0 ? { delay: Math.ceil(delayMs) } : {}), ...(rank > 0 ? { priority: rank } : {}) });
  }

  /** Jobs by state. */
  async depth(): Promise<QueueDepth> {
    const c = await this.queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'failed');
    return { waiting: c.waiting ?? 0, active: c.active ?? 0, delayed: c.delayed ?? 0, prioritized: c.prioritized ?? 0, failed: c.failed ?? 0 };
  }

  /** Closes the queue and its connection. */
  async close(): Promise<void> {
    await this.queue.close();
    this.#client.disconnect();
  }
}
