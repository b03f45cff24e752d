import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    // Fail the run on a stray unhandled rejection: reins promises never to leak one.
    dangerouslyIgnoreUnhandledErrors: false,
  },
});
