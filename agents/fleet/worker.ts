import { hostname } from 'node:os';
import { DelayedError, UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Cluster, Redis } from 'ioredis';
import { MachineMismatchError, UnknownAgentError, type Supervisor } from '../supervisor.js';
import { storeRateLimiter } from '../rate-limits.js';
import { CorruptRecordError } from '../../persistence/errors.js';
import { fleetClient, type FleetConnection } from './connection.js';
import { SLICE_QUEUE, type SliceJobData } from './queue-keys.js';
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

/**
 * A worker process's share of the fleet: takes slice jobs from the queue, at
 * most `concurrency` at once, and runs each as one slice of its run. It
 * re-queues what the slice asks for (the next slice, a timer), writes a
 * heartbeat, and takes its turn sweeping for runs no job names.
 */
export class FleetWorker {
  readonly queue: SliceQueue;
  readonly #worker: Worker<SliceJobData>;
  readonly #options: FleetWorkerOptions;
  readonly #beat: WorkerBeat;
  readonly #blocking: Redis | Cluster;
  #sweepTimer: NodeJS.Timeout | null = null;
  #inHand = 0;

  private constructor(options: FleetWorkerOptions) {
    this.#options = options;
    this.queue = new SliceQueue(options.connection);
    const lockMs = options.lockMs ?? Math.floor(options.supervisor.leaseMs / 2);
    this.#blocking = fleetClient(options.connection);
    this.#worker = new Worker<SliceJobData>(SLICE_QUEUE, (job, token) => this.#process(job, token), {
      connection: this.#blocking,
      prefix: this.queue.queue.opts.prefix!,
      concurrency: options.concurrency ?? 8,
      lockDuration: lockMs,
      stalledInterval: options.stalledIntervalMs ?? lockMs,
      maxStalledCount: MAX_STALLED,
      autorun: false,
      name: options.supervisor.workerId,
    });
    this.#worker.on('error', () => undefined);
    this.#beat = new WorkerBeat(this.queue.client, this.queue.workersKey, () => this.describe(), options.heartbeatMs ?? 5_000);
  }

  /** Starts taking slices. */
  static async start(options: FleetWorkerOptions): Promise<FleetWorker> {
    const worker = new FleetWorker(options);
    await worker.#worker.waitUntilReady();
    await worker.#beat.start();
    void worker.#worker.run();
    const every = options.sweepEveryMs ?? 5 * 60_000;
    if (every > 0) {
      worker.#sweepTimer = setInterval(() => void sweep(options.supervisor.store, worker.queue, every).catch(() => undefined), every);
      worker.#sweepTimer.unref();
    }
    return worker;
  }

  /** What this worker's heartbeat says. */
  describe(): WorkerBeatRecord {
    return { id: this.#options.supervisor.workerId, host: hostname(), pid: process.pid, concurrency: this.#options.concurrency ?? 8, inHand: this.#inHand, heartbeatAt: Date.now() };
  }

  /** Slices being run by this worker now. */
  get inHand(): number {
    return this.#inHand;
  }

  async #process(job: Job<SliceJobData>, token: string | undefined): Promise<string> {
    const { runId, tenant } = job.data;
    const supervisor = this.#options.supervisor;
    const limiter = storeRateLimiter(supervisor.store);
    const holder = `${job.id}`;
    if (this.#options.tenantCap !== undefined) {
      const policy = tenantPolicy(this.#options.tenantCap, (this.#options.slice?.maxMs ?? 60_000) + supervisor.leaseMs);
      const wait = await takeTenantSlot(limiter, tenant, holder, policy);
      if (wait !== null) return this.#later(job, token, wait);
    }
    this.#inHand++;
    let end: SliceEnd;
    try {
      end = await runSlice(supervisor, runId, this.#options.slice);
      // Told before the tenant slot is given back: what a listener counts as in hand never exceeds the cap.
      this.#options.onSlice?.(runId, end);
    } catch (error) {
      // A run this worker can never host (corrupt, unknown agent, other machine version) is no job for a retry.
      if (error instanceof CorruptRecordError || error instanceof UnknownAgentError || error instanceof MachineMismatchError) throw new UnrecoverableError((error as Error).message);
      throw error;
    } finally {
      this.#inHand--;
      if (this.#options.tenantCap !== undefined) await limiter.release(tenantBucket(tenant), holder).catch(() => undefined);
    }
    switch (end.kind) {
      case 'held': {
        const lease = await supervisor.store.readLease(runId);
        return this.#later(job, token, (lease?.expiresAt ?? 0) - Date.now() + 10);
      }
      case 'resting':
        if (end.dueAt !== null) await this.queue.timer(runId, end.dueAt, job.id);
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
      case 'missing':
        break;
    }
    return end.kind;
  }

  /** Puts the job back, to be looked at again after `ms` (bounded): its run is held elsewhere or its tenant is at its cap. */
  async #later(job: Job<SliceJobData>, token: string | undefined, ms: number): Promise<never> {
    await job.moveToDelayed(Date.now() + Math.min(HELD_RETRY_MAX_MS, Math.max(20, ms)), token);
    throw new DelayedError();
  }

  /** Stops taking slices, waits for those in hand to end (they release their runs), and closes the queue connections. The Supervisor is the caller's. */
  async close(): Promise<void> {
    if (this.#sweepTimer) clearInterval(this.#sweepTimer);
    await this.#worker.close();
    await this.#beat.stop();
    await this.queue.close();
    this.#blocking.disconnect();
  }
}
