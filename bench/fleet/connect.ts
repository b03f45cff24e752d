import { Cluster } from 'ioredis';
import type { FleetConnection } from '../../agents/fleet/connection.js';
import { RedisStore } from '../../persistence/redis-store.js';
import type { FleetTarget } from './protocol.js';

/** A RedisStore and the fleet's connection on one target and prefix, as a worker or an API server opens them. */
export async function openOn(target: FleetTarget, prefix: string): Promise<{ store: RedisStore; connection: FleetConnection; close(): Promise<void> }> {
  if (target.kind === 'redis') {
    const store = await RedisStore.connect(target.url, { prefix });
    return { store, connection: { url: target.url, prefix }, close: () => store.close() };
  }
  // One Cluster client for the store; the fleet duplicates it for BullMQ (which wants its own retry settings).
  const cluster = new Cluster([...target.nodes], { redisOptions: { maxRetriesPerRequest: 3 } });
  const store = new RedisStore({ redis: cluster, prefix });
  return {
    store,
    connection: { redis: cluster, prefix },
    async close() {
      await store.close();
      cluster.disconnect();
    },
  };
}
