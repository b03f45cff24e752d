import { Redis } from 'ioredis';

/** Redis's own counters, summed over every server (one, or each master of a cluster). */
export interface RedisCounters {
  /** Calls of each command (commands run inside scripts included), and the server's µs in them. */
  readonly calls: number;
  readonly usec: number;
  readonly byCommand: Record<string, number>;
  /** Bytes the servers read off the wire. */
  readonly netInputBytes: number;
  readonly usedMemory: number;
}

/** The bench's own commands, left out of the counts. */
const ADMIN = new Set(['info', 'flushall', 'config|resetstat', 'config', 'ping', 'memory|usage']);

/** Admin connections to each server, reading INFO. */
export class RedisAdmins {
  readonly #clients: Redis[];
  constructor(urls: readonly string[]) {
    this.#clients = urls.map((url) => new Redis(url, { maxRetriesPerRequest: 1 }));
  }

  async read(): Promise<RedisCounters> {
    let calls = 0;
    let usec = 0;
    let netInputBytes = 0;
    let usedMemory = 0;
    const byCommand: Record<string, number> = {};
    for (const c of this.#clients) {
      const text = await c.info('all');
      for (const m of text.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) {
        if (ADMIN.has(m[1]!)) continue;
        calls += Number(m[2]);
        usec += Number(m[3]);
        byCommand[m[1]!] = (byCommand[m[1]!] ?? 0) + Number(m[2]);
      }
      netInputBytes += Number(/^total_net_input_bytes:(\d+)/m.exec(text)?.[1] ?? 0);
      usedMemory += Number(/^used_memory:(\d+)/m.exec(text)?.[1] ?? 0);
    }
    return { calls, usec, byCommand, netInputBytes, usedMemory };
  }

  async flush(): Promise<void> {
    await Promise.all(this.#clients.map((c) => c.flushall()));
  }

  close(): void {
    for (const c of this.#clients) c.disconnect();
  }
}

/** What happened between two readings (memory: the later reading less the earlier). */
export function delta(before: RedisCounters, after: RedisCounters): RedisCounters {
  const byCommand: Record<string, number> = {};
  for (const [k, v] of Object.entries(after.byCommand)) {
    const d = v - (before.byCommand[k] ?? 0);
    if (d > 0) byCommand[k] = d;
  }
  return {
    calls: after.calls - before.calls,
    usec: after.usec - before.usec,
    byCommand,
    netInputBytes: after.netInputBytes - before.netInputBytes,
    usedMemory: after.usedMemory - before.usedMemory,
  };
}
