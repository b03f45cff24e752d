import type { TestProject } from 'vitest/node';
import { removeStaleBundles } from './support/child-script.js';
import { hasRedisServer, startRedis, type RedisServer } from './support/redis-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** URL of the Redis the tests may use: a private redis-server started for this run, or REDIS_URL. */
    redisUrl: string;
  }
}

/**
 * Starts one private redis-server for the whole test run (never a Redis that
 * is already running), hands its URL to tests via inject('redisUrl'), and
 * stops it afterwards.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  if (!hasRedisServer()) {
    const url = process.env.REDIS_URL;
    if (!url) {
      // One line and a failed run, rather than a stack trace that buries the fix.
      console.error('reins tests need redis-server: apt-get install redis-server (or set REDIS_URL)');
      process.exit(1);
    }
    console.log('reins tests: no redis-server binary, using the Redis at REDIS_URL');
    project.provide('redisUrl', url);
    return async () => removeStaleBundles();
  }
  const server: RedisServer = await startRedis();
  project.provide('redisUrl', server.url);
  return async () => {
    await server.stop();
    removeStaleBundles();
  };
}
