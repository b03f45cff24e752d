/** Where a fleet bench worker finds Redis: one server, or a Redis Cluster by its start nodes. */
export type FleetTarget = { readonly kind: 'redis'; readonly url: string } | { readonly kind: 'cluster'; readonly nodes: ReadonlyArray<{ readonly host: string; readonly port: number }> };

/** What the bench tells a worker process. */
export type FleetCommand =
  /** Become a fleet worker on `prefix` (a fresh one per round): hosts runs of `turns` turns. */
  | { readonly type: 'start'; readonly target: FleetTarget; readonly prefix: string; readonly concurrency: number; readonly sliceTurns: number; readonly turns: number }
  /** Finish the slices in hand, close everything, and say what was done. */
  | { readonly type: 'stop' };

/** What a worker process says. Times are epoch ms with sub-ms precision (performance.timeOrigin + performance.now()), comparable across processes of one machine. */
export type FleetReport =
  | { readonly type: 'up' }
  | { readonly type: 'started' }
  /** Sent every few ms while there is news: runs that made their first model call, and how many runs ended. */
  | { readonly type: 'progress'; readonly first: ReadonlyArray<readonly [string, number]>; readonly ended: number; readonly rested: number }
  | { readonly type: 'stopped'; readonly slices: number; readonly held: number; readonly cpuMs: number }
  | { readonly type: 'failed'; readonly message: string };

/** Wall-clock now, ms since the epoch, sub-ms. */
export const epochMs = (): number => performance.timeOrigin + performance.now();
