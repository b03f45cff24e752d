import { Redis } from 'ioredis';
import { median, percentile } from '../lib/stats.js';

/** Workload 2: what one sequential Redis round trip costs on this machine, carrying a reins turn's bytes. */
export interface DurabilityFloor {
  /** The payload of the measured round trip: the wire bytes one reins turn sends (median, from the RedisStore runs). */
  readonly payloadBytes: number;
  /** Median µs of one EVALSHA doing SET (snapshot-sized) + XADD (the rest), payloadBytes in total. */
  readonly roundTripUs: number;
  readonly p99Us: number;
  /** Median µs of a plain SET of 2 KB, for reference. */
  readonly set2kUs: number;
  readonly samples: number;
}

const SCRIPT = `redis.call('SET', KEYS[1], ARGV[1])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', 1000, '*', 'e', ARGV[2])
return 1`;

/**
 * Times `samples` sequential round trips (after a warm-up) on a fresh
 * connection to the bench's Redis: each an EVALSHA that SETs a key and XADDs
 * to a stream, with `payloadBytes` of arguments split as a snapshot (first
 * `snapshotBytes`) and a journal/trace entry (the rest).
 */
export async function durabilityFloor(url: string, payloadBytes: number, snapshotBytes: number, samples: number): Promise<DurabilityFloor> {
  const redis = new Redis(url);
  try {
    const sha = (await redis.script('LOAD', SCRIPT)) as string;
    const total = Math.max(64, Math.round(payloadBytes));
    const first = Math.min(total - 32, Math.max(32, Math.round(snapshotBytes)));
    const a = 'x'.repeat(first);
    const b = 'y'.repeat(total - first);
    const two = 'z'.repeat(2048);
    const evalUs: number[] = [];
    const setUs: number[] = [];
    for (let i = 0; i < samples + 200; i++) {
      const t0 = performance.now();
      await redis.evalsha(sha, 2, 'floor:{1}:snap', 'floor:{1}:trace', a, b);
      const t1 = performance.now();
      await redis.set('floor:{1}:two', two);
      const t2 = performance.now();
      if (i >= 200) {
        evalUs.push((t1 - t0) * 1000);
        setUs.push((t2 - t1) * 1000);
      }
    }
    await redis.del('floor:{1}:snap', 'floor:{1}:trace', 'floor:{1}:two');
    return { payloadBytes: total, roundTripUs: median(evalUs), p99Us: percentile(evalUs, 99), set2kUs: median(setUs), samples };
  } finally {
    redis.disconnect();
  }
}
