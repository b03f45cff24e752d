import type { Cluster, Redis } from 'ioredis';
import { z } from 'zod';
import { SliceRoute } from './queue-keys.js';

/** One worker's heartbeat, as `reins workers` reads it. */
export const WorkerBeatRecord = z.object({
  id: z.string(),
  host: z.string(),
  pid: z.number().int(),
  concurrency: z.number().int().positive(),
  /** Slices it runs now. */
  inHand: z.number().int().nonnegative(),
  heartbeatAt: z.number(),
  /** The routes (agent, agent version, chart version) whose runs it stores: it takes their queues. */
  hosts: z.array(SliceRoute).default([]),
  /** Older routes it also takes, migrating their runs to one it hosts on the way. */
  adopts: z.array(SliceRoute).default([]),
});
export type WorkerBeatRecord = z.output<typeof WorkerBeatRecord>;

/** Writes a worker's heartbeat into the fleet's workers hash every `everyMs`, and removes it on stop. */
export class WorkerBeat {
  #timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly redis: Redis | Cluster,
    private readonly key: string,
    private readonly describe: () => WorkerBeatRecord,
    private readonly everyMs: number,
  ) {}

  /** Writes the first beat and keeps beating. */
  async start(): Promise<void> {
    await this.#write();
    this.#timer = setInterval(() => void this.#write().catch(() => undefined), this.everyMs);
    this.#timer.unref();
  }

  async #write(): Promise<void> {
    const beat = this.describe();
    await this.redis.hset(this.key, beat.id, JSON.stringify(beat));
  }

  /** Stops beating and removes this worker's entry. */
  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    await this.redis.hdel(this.key, this.describe().id).catch(() => undefined);
  }
}

/** Every heartbeat in the fleet's workers hash; an entry that does not parse is skipped. */
export async function readWorkerBeats(redis: Redis | Cluster, key: string): Promise<WorkerBeatRecord[]> {
  const raw = await redis.hgetall(key);
  const beats: WorkerBeatRecord[] = [];
  for (const text of Object.values(raw)) {
    try {
      const parsed = WorkerBeatRecord.safeParse(JSON.parse(text));
      if (parsed.success) beats.push(parsed.data);
    } catch {
      // A foreign or torn entry says nothing about a live worker.
    }
  }
  return beats.sort((a, b) => a.id.localeCompare(b.id));
}
