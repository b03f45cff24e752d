import type { FleetConnection } from '../agents/fleet/connection.js';
import { CliError, ExitCode } from './exit-codes.js';
import type { StoreSpec } from './store-option.js';

/** The fleet's queue lives beside a RedisStore: same Redis, same prefix. A FileStore has no fleet (usage error, exit 2). */
export function fleetConnection(spec: StoreSpec, command: string): FleetConnection {
  if (spec.kind !== 'redis') throw new CliError(ExitCode.usage, `reins ${command} needs a Redis store (--store redis://… or REDIS_URL): the fleet's queue is BullMQ on that Redis`);
  const where = spec.cluster ? { cluster: spec.cluster.nodes, redisOptions: spec.cluster.redisOptions } : { url: spec.url };
  return { ...where, ...(spec.prefix ? { prefix: spec.prefix } : {}) };
}
