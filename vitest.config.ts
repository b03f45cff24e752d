import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

/**
 * Which test files run one at a time, by folder and name, so that a new suite lands in the right group without
 * touching this file:
 *
 * - test/crash/**, test/fleet/**, test/cli/**, test/console/** and any `*-processes.test.ts`: tests that start,
 *   kill (SIGKILL) or freeze (SIGSTOP) worker processes, drive the CLI or a real browser. They saturate both cores
 *   and hold leases whose renewals must not be starved by a neighbour, so they run alone, after the others.
 * - Everything else runs files in parallel: each file has its own stores (a temporary folder, a MemoryStore, or a
 *   Redis key prefix of its own on the shared test Redis), so no two files share a resource.
 *
 * `npm run test:quick` runs the `quick` project only, for the inner loop: the unit, scenario and model-based
 * tests (guards, machines, agents, pipelines, telemetry), everything parallel but the store suites, the examples
 * run as processes and the durable-run suites (the `io` project).
 */
export const SERIAL = ['test/crash/**/*.test.ts', 'test/fleet/**/*.test.ts', 'test/cli/**/*.test.ts', 'test/console/**/*.test.ts', 'test/**/*-processes.test.ts'];

/** Parallel files that talk to Redis, a spawned example or many disk syncs: in `npm test`, not in the inner loop. */
const IO = ['test/persistence/**/*.test.ts', 'test/rate-limits/**/*.test.ts', 'test/durable/**/*.test.ts', 'test/approvals/outreach-example.test.ts', 'test/pipelines/catalogue.test.ts'];

/** Files are mostly waiting on disk syncs, Redis and timers, so one worker per core keeps both cores busy. */
const PARALLEL_WORKERS = Math.max(2, availableParallelism());

export default defineConfig({
  test: {
    testTimeout: 20_000,
    // One private redis-server per project (see test/global-setup.ts); tests get its URL with inject('redisUrl').
    globalSetup: ['test/global-setup.ts'],
    // Fail the run on a stray unhandled rejection: reins promises never to leak one.
    dangerouslyIgnoreUnhandledErrors: false,
    projects: [
      { extends: true, test: { name: 'quick', include: ['test/**/*.test.ts'], exclude: [...SERIAL, ...IO], maxWorkers: PARALLEL_WORKERS } },
      { extends: true, test: { name: 'io', include: IO, exclude: SERIAL, maxWorkers: PARALLEL_WORKERS } },
      // One file at a time, after the parallel group (vitest runs projects without file parallelism last). Their waits
      // are on conditions (a line, a status, a row); the timeouts are hang guards, wide enough for a loaded machine.
      { extends: true, test: { name: 'serial', include: SERIAL, fileParallelism: false, testTimeout: 60_000, expect: { poll: { timeout: 30_000 } } } },
    ],
  },
});
