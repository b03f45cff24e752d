import { describe, expect, inject, it } from 'vitest';
import { FLEET } from '../../examples/fleet/index.js';
import { reins } from './run-cli.js';
import { cliSuite } from './suite.js';

/** A fresh key prefix: this file's runs never meet another test's on the shared private redis-server. */
function storeUrl(): string {
  const url = new URL(inject('redisUrl'));
  url.searchParams.set('prefix', `cli-${process.pid}-${Date.now().toString(36)}`);
  return url.toString();
}

const store = storeUrl();

cliSuite({ name: 'RedisStore', create: async () => ({ store, cleanup: async () => undefined }) });

describe('REDIS_URL', () => {
  it('picks the Redis store when --store is not given', async () => {
    const result = await reins(['stats', '--json'], { REDIS_URL: store });
    expect(result.code).toBe(0);
    // The two demos the suite above ran on this prefix: the default FileStore would hold none of them.
    expect(JSON.parse(result.stdout)).toMatchObject({ runs: 2 * FLEET.length, active: 0 });
  });
});
