/** reins/fleet: submit runs to a BullMQ queue and take them, one slice at a time, in any number of worker processes. */
export type { FleetConnection } from './connection.js';
export { FIRST_SLICE, routeQueue, SLICE_QUEUE, sliceJobId, SliceRoute, timerJobId, type SliceJobData, type WakeReason } from './queue-keys.js';
export { routeOf, routesOf, type DefinitionRoutes } from './route.js';
export { restingPoint, type RestingPoint } from './rest.js';
export { runSlice, type SliceEnd, type SliceLimits } from './slice.js';
export { DEFAULT_TENANT, SliceQueue, type QueueDepth, type RouteDepth } from './slice-queue.js';
export { submitRun, type RunQueue, type SubmitOptions } from './submit.js';
export { sweep } from './sweeper.js';
export { FleetWorker, type FleetWorkerOptions } from './worker.js';
export { readWorkerBeats, WorkerBeatRecord } from './worker-beat.js';
