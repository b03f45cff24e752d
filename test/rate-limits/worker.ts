/**
 * A worker process of the cross-process rate-limit test: opens a Supervisor on
 * the shared Redis, runs its share of the mailer runs with the store's rate
 * limiter, reports each outcome to its parent, and exits.
 *
 *   node --import tsx test/rate-limits/worker.ts '<config JSON>'
 */
import { Redis } from 'ioredis';
import { Supervisor } from '../../agents/supervisor.js';
import { storeRateLimiter, type RateLimiter } from '../../agents/rate-limits.js';
import { RedisStore } from '../../persistence/redis-store.js';
import { mailer } from './mailer.js';

interface Config {
  readonly url: string;
  readonly prefix: string;
  readonly workerId: string;
  readonly runs: ReadonlyArray<{ runId: string; to: string[] }>;
  readonly limit: number;
  readonly perMs: number;
}

const config = JSON.parse(process.argv[2] ?? '{}') as Config;
process.on('disconnect', () => process.exit(0));

async function main(): Promise<void> {
  const store = new RedisStore({ url: config.url, prefix: config.prefix });
  const redis = new Redis(config.url);
  const shared = storeRateLimiter(store);
  // Which requests were granted (the test times them on the server's clock, from MONITOR).
  const limiter: RateLimiter = {
    ...shared,
    acquire: async (key, policy, holder) => {
      const decision = await shared.acquire(key, policy, holder);
      if (decision.granted) await redis.rpush(`${config.prefix}:test:grants`, JSON.stringify({ key, holder }));
      return decision;
    },
  };
  const { agent } = mailer({ limit: config.limit, perMs: config.perMs, rateLimiter: limiter, ledger: { redis, prefix: `${config.prefix}:test` } });
  const supervisor = await Supervisor.open({ store, agents: [agent], workerId: config.workerId });
  process.send?.({ type: 'ready' });
  // Both workers start together, so that their runs contend for the same buckets.
  await new Promise<void>((resolve) => process.once('message', () => resolve()));
  const runs = await Promise.all(config.runs.map((r) => supervisor.start('mailer', { runId: r.runId, input: { to: r.to } })));
  const outcomes = await Promise.all(runs.map((r) => r.outcome));
  for (const outcome of outcomes) process.send?.({ type: 'outcome', outcome });
  await supervisor.close();
  await store.close();
  redis.disconnect();
  process.send?.({ type: 'done' }, () => process.exit(0));
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
