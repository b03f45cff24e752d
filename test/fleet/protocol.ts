import type { FleetRelease } from './agents.js';

/** How a fleet-test worker process is started (argv[2], JSON). */
export interface FleetWorkerConfig {
  /** A standalone Redis; or */
  readonly url?: string;
  /** the start nodes of a Redis Cluster. */
  readonly cluster?: readonly { readonly host: string; readonly port: number }[];
  readonly prefix: string;
  /** Where its fsynced effect ledger file goes. */
  readonly ledgerDir: string;
  readonly concurrency: number;
  readonly leaseMs: number;
  readonly sliceTurns: number;
  /** How often its heartbeat is written (default the worker's). */
  readonly heartbeatMs?: number;
  /** Which release of the agents it hosts (default `fixed`). */
  readonly release?: FleetRelease;
  /** Concurrent slices per tenant across the fleet (FleetWorker's tenantCap); default unlimited. */
  readonly tenantCap?: number;
}

/** What the test asks a worker: how many slices it has in hand and runs it hosts. */
export interface HoldingsRequest {
  readonly type: 'holdings';
  readonly id: number;
}

/** A slice starting (its run hosted, any tenant slot taken) or ending (before its tenant slot is given back), at `at` ms (sub-ms). */
export interface SliceEdge {
  readonly type: 'slice';
  readonly edge: 'start' | 'end';
  readonly runId: string;
  readonly at: number;
}

/** Everything a fleet-test worker says. */
export type FleetWorkerMessage =
  | { readonly type: 'ready'; readonly workerId: string }
  | SliceEdge
  | { readonly type: 'holdings'; readonly id: number; readonly inHand: number; readonly hosted: number };
