import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    // One file at a time: the crash and CLI suites start worker processes that saturate both cores, and timing-sensitive
    // tests (leases, the browser) must not be starved by a neighbour. Slower in total, never flaky for that reason.
    fileParallelism: false,
    // One private redis-server for the run (see test/global-setup.ts); tests get its URL with inject('redisUrl').
    globalSetup: ['test/global-setup.ts'],
    // Fail the run on a stray unhandled rejection: reins promises never to leak one.
    dangerouslyIgnoreUnhandledErrors: false,
  },
});
