/** reins/fleet: submit runs to a BullMQ queue and take them, one slice at a time, in any number of worker processes. */
export type { FleetConnection } from './connection.js';
export { FIRST_SLICE, SLICE_QUEUE, sliceJobId, timerJobId, type SliceJobData, type WakeReason } from './queue-keys.js';
export { restingPoint, type RestingPoint } from './rest.js';
export { runSlice, type SliceEnd, type SliceLimits } from './slice.js';
export { DEFAULT_TENANT, SliceQueue, type QueueDepth } from './slice-queue.js';
export { submitRun, type RunQueue, type SubmitOptions } from './submit.js';
export { sweep } from './sweeper.js';
export { FleetWorker, type FleetWorkerOptions } from './worker.js';
export { readWorkerBeats, WorkerBeatRecord } from './worker-beat.js';
