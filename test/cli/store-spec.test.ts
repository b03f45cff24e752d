import { describe, expect, it } from 'vitest';
import { CliError } from '../../cli/exit-codes.js';
import { describeStore, openStore, storeArgument, storeSpec } from '../../cli/store-option.js';
import { StoreUnavailableError } from '../../persistence/errors.js';
import { freePort } from '../support/redis-server.js';

describe('a Redis Cluster as the store', () => {
  it('takes redis-cluster://host:port,… with a prefix, credentials kept out of every printout', () => {
    const spec = storeSpec('redis-cluster://ops:s3cret@10.0.0.5:7000,10.0.0.6:7001?prefix=acme', {});
    expect(spec).toMatchObject({
      kind: 'redis',
      prefix: 'acme',
      from: 'flag',
      cluster: { nodes: [{ host: '10.0.0.5', port: 7000 }, { host: '10.0.0.6', port: 7001 }], redisOptions: { username: 'ops', password: 's3cret' } },
    });
    expect(describeStore(spec)).toBe('RedisStore redis-cluster://***@10.0.0.5:7000,10.0.0.6:7001 (prefix acme)');
    expect(storeArgument(spec)).toBe(' --store <your redis-cluster URL>');
    const open = storeSpec('rediss-cluster://a:1,b:2', {});
    expect(open).toMatchObject({ cluster: { nodes: [{ host: 'a', port: 1 }, { host: 'b', port: 2 }], redisOptions: { tls: {} } } });
    expect(storeArgument(open)).toBe(' --store rediss-cluster://a:1,b:2');
  });

  it('reads REINS_REDIS_CLUSTER before REDIS_URL when --store is not given; --store wins over both', () => {
    const env = { REINS_REDIS_CLUSTER: '127.0.0.1:7000,127.0.0.1:7001', REDIS_URL: 'redis://127.0.0.1:6380', REINS_REDIS_PREFIX: 'p' };
    expect(storeSpec(undefined, env)).toMatchObject({ kind: 'redis', from: 'env', prefix: 'p', cluster: { nodes: [{ host: '127.0.0.1', port: 7000 }, { host: '127.0.0.1', port: 7001 }] } });
    expect(storeSpec('redis://127.0.0.1:6381', env)).toMatchObject({ kind: 'redis', cluster: null });
  });

  it('refuses a node that is not host:port (a usage error)', () => {
    expect(() => storeSpec('redis-cluster://10.0.0.5', {})).toThrow(CliError);
    expect(() => storeSpec('redis-cluster://10.0.0.5:7000,:7001', {})).toThrow(/host:port/);
  });

  it('an unreachable cluster is a typed StoreUnavailableError within seconds, not a hang (its client would queue commands forever)', async () => {
    const spec = storeSpec(`redis-cluster://127.0.0.1:${await freePort()}`, {});
    const error = await openStore(spec, { write: false }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect((error as Error).message).toMatch(/^no Redis answers at redis-cluster:\/\/127\.0\.0\.1:\d+$/);
  }, 30_000);
});
