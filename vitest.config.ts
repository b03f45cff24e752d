import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    // One private redis-server for the run (see test/global-setup.ts); tests get its URL with inject('redisUrl').
    globalSetup: ['test/global-setup.ts'],
    // Fail the run on a stray unhandled rejection: reins promises never to leak one.
    dangerouslyIgnoreUnhandledErrors: false,
  },
});
