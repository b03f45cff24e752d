import type { FleetRelease } from './agents.js';

/** How a fleet-test worker process is started (argv[2], JSON). */
export interface FleetWorkerConfig {
  readonly url: string;
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
}

/** What the test asks a worker: how many slices it has in hand and runs it hosts. */
export interface HoldingsRequest {
  readonly type: 'holdings';
  readonly id: number;
}

/** Everything a fleet-test worker says. */
export type FleetWorkerMessage =
  | { readonly type: 'ready'; readonly workerId: string }
  | { readonly type: 'holdings'; readonly id: number; readonly inHand: number; readonly hosted: number };
