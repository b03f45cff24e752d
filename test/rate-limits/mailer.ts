/**
 * The agent of the shared rate-limit tests: each run sends one email to each
 * of its recipients through `send_email`, limited per recipient domain. Every
 * send is recorded in Redis (when given) under its idempotency key, with the
 * Redis server's time, so that the test can check the rate and that nothing
 * was sent twice, across processes.
 */
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { defineAgent, scriptedModel, tool, type Agent } from '../../index.js';
import type { RateLimiter } from '../../agents/rate-limits.js';

export interface MailerOptions {
  readonly limit: number;
  readonly perMs: number;
  readonly concurrency?: number;
  readonly rateLimiter?: RateLimiter;
  /** Where sends are recorded; without it they are kept in `sends`. */
  readonly ledger?: { readonly redis: Redis; readonly prefix: string };
  /** How long one send takes. */
  readonly sendMs?: number;
  readonly maxWallClockMs?: number;
}

/** One recorded send. */
export interface Send {
  readonly key: string;
  readonly domain: string;
  readonly at: number;
}

export function mailer(options: MailerOptions): { agent: Agent<{ to: string[] }>; sends: Send[]; inFlight: { now: number; max: number } } {
  const sends: Send[] = [];
  const inFlight = { now: 0, max: 0 };
  const sendEmail = tool({
    name: 'send_email',
    description: 'Send one email',
    input: z.object({ to: z.email(), subject: z.string() }),
    sideEffect: 'idempotent',
    rateLimit: {
      key: ({ to }) => to.split('@')[1]!,
      limit: options.limit,
      perMs: options.perMs,
      ...(options.concurrency !== undefined ? { concurrency: options.concurrency } : {}),
    },
    run: async ({ to }, ctx) => {
      // When the send starts, before any I/O of its own (the workers and Redis share this host's clock).
      const at = Date.now();
      inFlight.now++;
      inFlight.max = Math.max(inFlight.max, inFlight.now);
      try {
        const domain = to.split('@')[1]!;
        const ledger = options.ledger;
        if (ledger) {
          const first = await ledger.redis.set(`${ledger.prefix}:sent:${ctx.idempotencyKey}`, '1', 'NX');
          if (first === null) await ledger.redis.incr(`${ledger.prefix}:duplicates`);
          else await ledger.redis.rpush(`${ledger.prefix}:log`, JSON.stringify({ key: ctx.idempotencyKey, domain, at }));
        } else {
          sends.push({ key: ctx.idempotencyKey, domain, at });
        }
        if (options.sendMs) await new Promise((resolve) => setTimeout(resolve, options.sendMs));
        return { sent: to };
      } finally {
        inFlight.now--;
      }
    },
  });
  const agent = defineAgent<{ to: string[] }>({
    id: 'mailer',
    goal: ({ to }) => `Email ${to.join(', ')}`,
    model: scriptedModel(({ turn, messages }) => {
      const first = messages[0];
      const to = first?.role === 'user' ? first.content.replace(/^Email /, '').split(', ') : [];
      const next = to[turn - 1];
      return next ? { call: 'send_email', args: { to: next, subject: 'hello' } } : { answer: { sent: to.length } };
    }),
    tools: [sendEmail],
    limits: { maxTurns: 50, maxWallClockMs: options.maxWallClockMs ?? 60_000 },
    progress: false,
    ...(options.rateLimiter ? { rateLimiter: options.rateLimiter } : {}),
  });
  return { agent, sends, inFlight };
}

/** The largest number of sends to one domain inside any window of `windowMs`. */
export function busiestWindow(times: readonly number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  let start = 0;
  for (let end = 0; end < sorted.length; end++) {
    while (sorted[end]! - sorted[start]! >= windowMs) start++;
    best = Math.max(best, end - start + 1);
  }
  return best;
}
