import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { checkPrefix, DEFAULT_PREFIX } from '../../persistence/redis/keys.js';

/** Where the fleet's queue lives: the Redis (or Redis Cluster) of the RedisStore, with the same key prefix. */
export interface FleetConnection {
  /** A Redis URL (default REDIS_URL, else redis://127.0.0.1:6379); ignored when `redis` is given. */
  readonly url?: string;
  /** A client to duplicate: a Redis or a Cluster. The fleet opens its own connections from it and never closes it. */
  readonly redis?: Redis | Cluster;
  /** The start nodes of a Redis Cluster, when the fleet opens its own Cluster clients (`url` is then ignored). */
  readonly cluster?: readonly { readonly host: string; readonly port: number }[];
  /** More ioredis options for the clients the fleet opens (each cluster node's): credentials, TLS. */
  readonly redisOptions?: RedisOptions;
  /** The store's key prefix (default `reins`); the queue's keys are hash-tagged by it. */
  readonly prefix?: string;
}

/**
 * A new client for BullMQ. BullMQ wants `maxRetriesPerRequest: null` (its
 * blocking commands wait as long as they must, and it retries the rest
 * itself), so the fleet never shares the store's fail-fast clients.
 */
export function fleetClient(connection: FleetConnection): Redis | Cluster {
  if (connection.redis instanceof Cluster) {
    return connection.redis.duplicate(undefined, { ...connection.redis.options, redisOptions: { ...connection.redis.options.redisOptions, maxRetriesPerRequest: null } });
  }
  if (connection.redis) return connection.redis.duplicate({ maxRetriesPerRequest: null });
  if (connection.cluster) return new Cluster([...connection.cluster], { redisOptions: { ...connection.redisOptions, maxRetriesPerRequest: null } });
  return new Redis(connection.url ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { ...connection.redisOptions, maxRetriesPerRequest: null });
}

/** The connection's key prefix, checked as the store checks it. */
export function prefixOf(connection: FleetConnection): string {
  return checkPrefix(connection.prefix ?? DEFAULT_PREFIX);
}
