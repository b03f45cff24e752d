import { hostname } from 'node:os';
import { DelayedError, UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Cluster, Redis } from 'ioredis';
import { MachineMismatchError, UnknownAgentError, type Supervisor } from '../supervisor.js';
import { storeRateLimiter } from '../rate-limits.js';
import { CorruptRecordError } from '../../persistence/errors.js';
import { fleetClient, type FleetConnection } from './connection.js';
import { routeQueue, sameRoute, SLICE_QUEUE, type SliceJobData, type SliceRoute } from './queue-keys.js';
import { routeOf, routesOf } from './route.js';
import { runSlice, type SliceEnd, type SliceLimits } from './slice.js';
import { SliceQueue } from './slice-queue.js';
import { sweep } from './sweeper.js';
import { takeTenantSlot, tenantBucket, tenantPolicy } from './tenant-cap.js';
import { WorkerBeat, type WorkerBeatRecord } from './worker-beat.js';

/** How a fleet worker takes slices. */
export interface FleetWorkerOptions {
  /** Hosts the slices: its store is the truth, its lease decides who runs a run. */
  readonly supervisor: Supervisor;
  /** The queue's Redis (the store's, with the same prefix). */
  readonly connection: FleetConnection;
  /** Slices in hand at once. Default 8. */
  readonly concurrency?: number;
  readonly slice?: SliceLimits;
  /**
   * BullMQ's job lock. Shorter than the reins lease, so a dead worker's slice
   * is redelivered by the time its lease runs out. Default: half the lease.
   */
  readonly lockMs?: number;
  /** How often BullMQ looks for stalled slices (a dead worker's). Default: the lock. */
  readonly stalledIntervalMs?: number;
  /** How often one worker of the fleet sweeps the store for running runs that no job names (lost in a failover). Default 5 min; 0 never. */
  readonly sweepEveryMs?: number;
  /** Concurrent slices per tenant across the fleet (the store's shared limiter); default unlimited. */
  readonly tenantCap?: number;
  /** How often this worker's heartbeat is written. Default 5 s. */
  readonly heartbeatMs?: number;
  /** Told of every slice as it ends. */
  readonly onSlice?: (runId: string, end: SliceEnd) => void;
}

/** Redelivery is harmless (the lease decides), so a stalled slice is redelivered however often it stalls. */
const MAX_STALLED = 1_000_000;
/** The longest a slice whose run is held elsewhere waits before it looks again. */
const HELD_RETRY_MAX_MS = 1_000;

/** One BullMQ worker of this process: the queue it takes, the route of that queue (null: the queue of the release before routing). */
interface Consumer {
  readonly route: SliceRoute | null;
  readonly worker: Worker<SliceJobData>;
  readonly blocking: Redis | Cluster;
}

/**
 * A worker process's share of the fleet: takes slice jobs from the queues of
 * the routes it hosts (one per agent and version its supervisor stores,
 * and the older ones it migrates from), at most `concurrency` at once over
 * all of them, and runs each as one slice of its run. It re-queues what the
 * slice asks for (the next slice, a timer), forwards a job whose run was
 * stored by other versions to their queue, writes a heartbeat naming the
 * routes it hosts, and takes its turn sweeping for runs no job names.
 */
export class FleetWorker {
  readonly queue: SliceQueue;
  readonly #consumers: Consumer[];
  readonly #options: FleetWorkerOptions;
  readonly #beat: WorkerBeat;
  readonly #hosts: SliceRoute[];
  readonly #adopts: SliceRoute[];
  readonly #slotWaiters: Array<() => void> = [];
  #sweepTimer: NodeJS.Timeout | null = null;
  #inHand = 0;

  private constructor(options: FleetWorkerOptions) {
    this.#options = options;
    this.queue = new SliceQueue(options.connection);
    const routes = options.supervisor.definitions().map(routesOf);
    this.#hosts = routes.map((r) => r.native);
    this.#adopts = routes.flatMap((r) => r.adopted);
    const lockMs = options.lockMs ?? Math.floor(options.supervisor.leaseMs / 2);
    const consume = (route: SliceRoute | null): Consumer => {
      const blocking = fleetClient(options.connection);
      const worker = new Worker<SliceJobData>(route ? routeQueue(route) : SLICE_QUEUE, (job, token) => this.#process(job, token, route), {
        connection: blocking,
        prefix: this.queue.prefix,
        concurrency: this.#concurrency,
        lockDuration: lockMs,
        stalledInterval: options.stalledIntervalMs ?? lockMs,
        maxStalledCount: MAX_STALLED,
        autorun: false,
        name: options.supervisor.workerId,
      });
      worker.on('error', () => undefined);
      return { route, worker, blocking };
    };
    this.#consumers = [...this.#hosts, ...this.#adopts, null].map(consume);
    this.#beat = new WorkerBeat(this.queue.client, this.queue.workersKey, () => this.describe(), options.heartbeatMs ?? 5_000);
  }

  get #concurrency(): number {
    return this.#options.concurrency ?? 8;
  }

  /** Starts taking slices. */
  static async start(options: FleetWorkerOptions): Promise<FleetWorker> {
    const worker = new FleetWorker(options);
    await Promise.all(worker.#consumers.map((c) => c.worker.waitUntilReady()));
    await worker.#beat.start();
    for (const c of worker.#consumers) void c.worker.run();
    const every = options.sweepEveryMs ?? 5 * 60_000;
    if (every > 0) {
      worker.#sweepTimer = setInterval(() => void sweep(options.supervisor.store, worker.queue, every).catch(() => undefined), every);
      worker.#sweepTimer.unref();
    }
    return worker;
  }

  /** What this worker's heartbeat says. */
  describe(): WorkerBeatRecord {
    return {
      id: this.#options.supervisor.workerId,
      host: hostname(),
      pid: process.pid,
      concurrency: this.#concurrency,
      inHand: this.#inHand,
      heartbeatAt: Date.now(),
      hosts: this.#hosts,
      adopts: this.#adopts,
    };
  }

  /** Slices being run by this worker now. */
  get inHand(): number {
    return this.#inHand;
  }

  async #process(job: Job<SliceJobData>, token: string | undefined, route: SliceRoute | null): Promise<string> {
    const { runId, tenant } = job.data;
    const supervisor = this.#options.supervisor;
    // The queue of the release before routing only routes: each of its jobs goes to its run's route.
    if (route === null) return this.#forward(job, null);
    const limiter = storeRateLimiter(supervisor.store);
    const holder = `${job.id}`;
    if (this.#options.tenantCap !== undefined) {
      const policy = tenantPolicy(this.#options.tenantCap, (this.#options.slice?.maxMs ?? 60_000) + supervisor.leaseMs);
      const wait = await takeTenantSlot(limiter, tenant, holder, policy);
      if (wait !== null) return this.#later(job, token, wait);
    }
    await this.#takeSlot();
    let end: SliceEnd;
    try {
      end = await runSlice(supervisor, runId, this.#options.slice);
      // Told before the tenant slot is given back: what a listener counts as in hand never exceeds the cap.
      this.#options.onSlice?.(runId, end);
    } catch (error) {
      // Stored by versions this route does not name (its route moved on since the job was queued): their workers take it.
      if (error instanceof MachineMismatchError) return await this.#forward(job, { from: route, refusal: error });
      // A run this worker can never host (corrupt, unknown agent) is no job for a retry.
      if (error instanceof CorruptRecordError || error instanceof UnknownAgentError) throw new UnrecoverableError((error as Error).message);
      throw error;
    } finally {
      this.#releaseSlot();
      if (this.#options.tenantCap !== undefined) await limiter.release(tenantBucket(tenant), holder).catch(() => undefined);
    }
    // A run taken from an older route was migrated here: its later slices follow the versions it is stored by now.
    if (!this.#hosts.some((h) => sameRoute(h, route)) && (end.kind === 'resting' || end.kind === 'limit' || end.kind === 'lost')) {
      const record = await supervisor.store.load(runId);
      if (record) await this.queue.reroute(runId, routeOf(record));
    }
    switch (end.kind) {
      case 'held': {
        const lease = await supervisor.store.readLease(runId);
        return this.#later(job, token, (lease?.expiresAt ?? 0) - Date.now() + 10);
      }
      case 'resting':
        if (end.dueAt !== null) await this.queue.timer(runId, end.dueAt, job.id);
        if (end.children && (await this.#anyEnded(end.children))) await this.queue.wake(runId, 'child');
        break;
      case 'limit':
        await this.queue.wake(runId, 'continue');
        break;
      case 'lost':
        // Fenced here (a lease not renewed in time) or taken by another worker: a look once the lease could have run out
        // finds the run with its new host (and waits) or with nobody (and takes it), instead of leaving it to the sweeper.
        await this.queue.wake(runId, 'retry', supervisor.leaseMs);
        break;
      case 'ended':
        await this.#wakeParent(runId);
        break;
      case 'missing':
        break;
    }
    return end.kind;
  }

  /**
   * A child's end wakes its parent. Done here, after the end is durable and
   * before the job completes: a worker that dies in between leaves the job to
   * be redelivered, and the redelivered slice finds the run ended and wakes the
   * parent then. A parent still hosted gets the wake as a job that waits for
   * its lease ('held'), so a wake is never lost to a parent on its way to rest.
   */
  async #wakeParent(runId: string): Promise<void> {
    const parentId = (await this.#options.supervisor.store.load(runId))?.summary.parentId;
    if (parentId) await this.queue.wake(parentId, 'child');
  }

  /**
   * Whether a child the parent rested on has ended: looked at once the
   * parent's lease is released, so that a child that ended while the parent
   * was on its way to rest wakes it even if that child's own wake was lost
   * (a Redis failover), without waiting for the sweeper.
   */
  async #anyEnded(children: readonly string[]): Promise<boolean> {
    for (const childId of children) {
      if ((await this.#options.supervisor.store.load(childId))?.summary.status === 'done') return true;
    }
    return false;
  }

  /**
   * Sends a job's run to the queue of the versions its record names (and
   * remembers that route for its later slices). A run already on that route
   * is one this worker should host and cannot: no job for a retry.
   */
  async #forward(job: Job<SliceJobData>, refused: { from: SliceRoute; refusal: MachineMismatchError } | null): Promise<string> {
    const { runId, why } = job.data;
    const record = await this.#options.supervisor.store.load(runId);
    if (!record) return 'missing';
    if (record.summary.status === 'done') return 'ended';
    const route = routeOf(record);
    if (refused && sameRoute(route, refused.from)) throw new UnrecoverableError(refused.refusal.message);
    await this.queue.reroute(runId, route);
    await this.queue.wake(runId, why);
    return 'forwarded';
  }

  /** Waits for one of this process's `concurrency` slots (shared by every queue it takes). */
  async #takeSlot(): Promise<void> {
    while (this.#inHand >= this.#concurrency) await new Promise<void>((resolve) => this.#slotWaiters.push(resolve));
    this.#inHand++;
  }

  #releaseSlot(): void {
    this.#inHand--;
    this.#slotWaiters.shift()?.();
  }

  /** Puts the job back, to be looked at again after `ms` (bounded): its run is held elsewhere or its tenant is at its cap. */
  async #later(job: Job<SliceJobData>, token: string | undefined, ms: number): Promise<never> {
    await job.moveToDelayed(Date.now() + Math.min(HELD_RETRY_MAX_MS, Math.max(20, ms)), token);
    throw new DelayedError();
  }

  /** Stops taking slices, waits for those in hand to end (they release their runs), and closes the queue connections. The Supervisor is the caller's. */
  async close(): Promise<void> {
    if (this.#sweepTimer) clearInterval(this.#sweepTimer);
    await Promise.all(this.#consumers.map((c) => c.worker.close()));
    await this.#beat.stop();
    await this.queue.close();
    for (const c of this.#consumers) c.blocking.disconnect();
  }
}
