import { Gauge, type Registry } from 'prom-client';
import type { QueueDepth } from '../fleet/slice-queue.js';

/** What the queue gauge reads: the fleet's slice queue (SliceQueue), or anything that counts jobs by state. */
export interface QueueDepthSource {
  /** Jobs by state, as BullMQ counts them (getJobCounts). */
  depth(): Promise<QueueDepth>;
}

/**
 * `reins_queue_jobs{state}`: the fleet's slice jobs by BullMQ state (waiting,
 * active, delayed, prioritized, failed), counted at scrape time. A queue that
 * cannot be read leaves the gauge empty rather than failing the scrape.
 */
export function registerQueueGauge(queue: QueueDepthSource, registry: Registry, prefix: string): void {
  new Gauge({
    name: `${prefix}queue_jobs`,
    help: "The fleet's slice jobs by state: waiting, active, delayed (timers, and slices put back while their run is held elsewhere), prioritized, failed",
    labelNames: ['state'] as const,
    registers: [registry],
    async collect() {
      const depth = await queue.depth().catch(() => null);
      this.reset();
      for (const [state, n] of Object.entries(depth ?? {})) this.set({ state }, n);
    },
  });
}
