import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startRedis, type RedisServer } from './redis-server.js';

const run = promisify(execFile);

/** A private Redis Cluster on loopback ports, owned by the test (or benchmark) that started it. */
export interface RedisCluster {
  /** The masters, each a private redis-server with `cluster-enabled yes`. */
  readonly nodes: readonly RedisServer[];
  /** `{ host, port }` of every master: what ioredis' `Cluster` takes as its start nodes. */
  readonly startNodes: readonly { readonly host: string; readonly port: number }[];
  /** Stops every node and removes their directories. */
  stop(): Promise<void>;
}

/**
 * Starts `masters` redis-servers in cluster mode, joins them with `redis-cli --cluster create` (no replicas: the
 * tests want a run's keys spread over slots owned by different processes, not failover), and waits until every
 * node reports `cluster_state:ok` and agrees on the slot map.
 */
export async function startRedisCluster(masters = 3): Promise<RedisCluster> {
  const nodes = await Promise.all(Array.from({ length: masters }, () => startRedis({ cluster: true })));
  const stop = async () => {
    await Promise.all(nodes.map((n) => n.stop()));
  };
  try {
    const addresses = nodes.map((n) => `127.0.0.1:${n.port}`);
    await run('redis-cli', ['--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes'], { timeout: 60_000 });
    await untilAllOk(nodes);
  } catch (err) {
    await stop();
    throw err;
  }
  return { nodes, startNodes: nodes.map((n) => ({ host: '127.0.0.1', port: n.port })), stop };
}

/** `redis-cli --cluster create` returns once slots are assigned; gossip may still be spreading the map. */
async function untilAllOk(nodes: readonly RedisServer[]): Promise<void> {
  for (let i = 0; i < 400; i++) {
    const infos = await Promise.all(nodes.map((n) => run('redis-cli', ['-p', String(n.port), 'cluster', 'info'])));
    if (infos.every(({ stdout }) => stdout.includes('cluster_state:ok') && stdout.includes(`cluster_known_nodes:${nodes.length}`))) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`Redis Cluster on ports ${nodes.map((n) => n.port).join(', ')} did not reach cluster_state:ok`);
}
