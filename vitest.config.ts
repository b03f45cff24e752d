import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

/**
 * Which test files run in which group, by folder and name, so that a new suite lands in the right group without
 * touching this file. vitest runs the groups one after another (`sequence.groupOrder`), each to its end:
 *
 * 1. `quick` and `io`, files in parallel, one worker per core: each file has its own stores (a temporary folder, a
 *    MemoryStore, or a Redis key prefix of its own on the shared test Redis), so no two files share a resource.
 * 2. `serial`: test/crash/**, test/fleet/**, test/cli/**, test/console/**: tests that start, kill (SIGKILL) or
 *    freeze (SIGSTOP) worker processes, drive the CLI or a real browser. Each file has its own redis-server and temp
 *    folder, and they spend most of their time waiting on leases, children's lines and timers, so two files run at a
 *    time; they start only once the parallel group is done, so that no CPU-bound neighbour starves lease renewals.
 * 3. `alone`: the tests that SIGKILL workers at random points, sized by trials and events ({@link ALONE}). They keep
 *    both cores busy for a minute or more, so each runs by itself, last.
 *
 * `npm run test:quick` runs the `quick` project only, for the inner loop: the unit, scenario and model-based
 * tests (guards, machines, agents, pipelines, telemetry), everything parallel but the store suites, the examples
 * run as processes and the durable-run suites (the `io` project).
 */
export const SERIAL = ['test/crash/**/*.test.ts', 'test/fleet/**/*.test.ts', 'test/cli/**/*.test.ts', 'test/console/**/*.test.ts', 'test/**/*-processes.test.ts'];

/**
 * Serial files that saturate both cores (a new one belongs here if `/usr/bin/time` shows it using more CPU than
 * wall time): the chaos test, random kills, the fleet's 2,000 runs under kills, FileStore writers killed mid-write.
 */
export const ALONE = ['test/crash/chaos.test.ts', 'test/crash/random-kills.test.ts', 'test/fleet/kill-workers.test.ts', 'test/**/*-processes.test.ts'];

/** Parallel files that talk to Redis, a spawned example or many disk syncs: in `npm test`, not in the inner loop. */
const IO = ['test/persistence/**/*.test.ts', 'test/rate-limits/**/*.test.ts', 'test/durable/**/*.test.ts', 'test/versions/agent-versions.test.ts', 'test/fixtures/resume-previous.test.ts', 'test/approvals/outreach-example.test.ts', 'test/pipelines/catalogue.test.ts'];

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
      // The serial groups' waits are on conditions (a line, a status, a row); the timeouts are hang guards, wide
      // enough for a loaded machine.
      { extends: true, test: { name: 'serial', include: SERIAL, exclude: ALONE, maxWorkers: 2, sequence: { groupOrder: 1 }, testTimeout: 60_000, expect: { poll: { timeout: 30_000 } } } },
      { extends: true, test: { name: 'alone', include: ALONE, maxWorkers: 1, sequence: { groupOrder: 2 }, testTimeout: 60_000, expect: { poll: { timeout: 30_000 } } } },
    ],
  },
});
