import { Redis } from 'ioredis';
import { startRedis, type RedisServer } from '../../test/support/redis-server.js';

/** The bench's private redis-server and an admin connection that reads its counters. */
export interface BenchRedis {
  readonly server: RedisServer;
  readonly admin: Redis;
  readonly version: string;
  /** Bytes the server has read from all clients so far, less the admin's own INFO requests. */
  netInputBytes(): Promise<number>;
  /** Commands processed by the server so far (commands run inside Lua scripts included), less the admin's own. */
  commandsProcessed(): Promise<number>;
  /** Commands this process has sent to Redis so far on any connection but the admin's: its round trips (one per EVALSHA, however many keys the script touches). */
  commandsSent(): number;
  flush(): Promise<void>;
  stop(): Promise<void>;
}

let sent = 0;
let uncounted: Redis | null = null;
// Counts every command any ioredis client in this process sends (scripts go through sendCommand too), but the admin's.
const originalSend = Redis.prototype.sendCommand;
Redis.prototype.sendCommand = function (this: Redis, ...args: Parameters<Redis['sendCommand']>) {
  if (this !== uncounted) sent++;
  return originalSend.apply(this, args);
} as Redis['sendCommand'];

/** `INFO stats` as the admin sends it: *2 $4 INFO $5 stats. */
const INFO_REQUEST_BYTES = Buffer.byteLength('*2\r\n$4\r\nINFO\r\n$5\r\nstats\r\n');

/**
 * Starts a private redis-server (append-only file, fsync every second: how
 * reins is meant to run Redis in production) on a free loopback port.
 */
export async function startBenchRedis(): Promise<BenchRedis> {
  const server = await startRedis({ appendonly: true });
  const admin = new Redis(server.url, { lazyConnect: false, maxRetriesPerRequest: 1 });
  uncounted = admin;
  const info = await admin.info('server');
  const version = /redis_version:(\S+)/.exec(info)?.[1] ?? '?';
  let infoCalls = 0;
  const stat = async (name: string): Promise<number> => {
    infoCalls++;
    const text = await admin.info('stats');
    const m = new RegExp(`^${name}:(\\d+)`, 'm').exec(text);
    return Number(m?.[1] ?? Number.NaN);
  };
  return {
    server,
    admin,
    version,
    async netInputBytes() {
      const raw = await stat('total_net_input_bytes');
      return raw - infoCalls * INFO_REQUEST_BYTES;
    },
    async commandsProcessed() {
      const raw = await stat('total_commands_processed');
      // Every earlier INFO of ours was counted once it ran; this one is not counted yet.
      return raw - (infoCalls - 1);
    },
    commandsSent() {
      return sent;
    },
    async flush() {
      await admin.flushall();
    },
    async stop() {
      admin.disconnect();
      await server.stop();
    },
  };
}
