import type { RunObserver } from '../agents/observer.js';
import type { SnapshotStore } from '../persistence/store.js';

/** What the console needs of the telemetry's Prometheus metrics (agents/telemetry/metrics.ts). */
export interface ConsoleMetrics {
  readonly observer: RunObserver;
  readonly contentType: string;
  render(): Promise<string>;
}

type CreateMetrics = (options?: { store?: Pick<SnapshotStore, 'list'> }) => ConsoleMetrics;

/** Where createMetrics lives; loaded by path so that the console runs, without /metrics, in a build that lacks telemetry. */
const METRICS_MODULE = '../agents/telemetry/metrics.js';

/** The metrics of this console process (its hosted runs, and store-wide gauges), or null when telemetry is not available. */
export async function loadMetrics(store: SnapshotStore): Promise<ConsoleMetrics | null> {
  try {
    const mod = (await import(METRICS_MODULE)) as { createMetrics?: CreateMetrics };
    return mod.createMetrics ? mod.createMetrics({ store }) : null;
  } catch {
    return null;
  }
}
