import { z } from 'zod';
import { tool, type ToolDefinition, type ToolOptions } from '../../index.js';

/** A tool whose calls and aborts are counted, so tests can assert exact side effects. */
export interface CountedTool {
  readonly def: ToolDefinition;
  readonly calls: number;
  readonly aborted: number;
  /** The idempotency key of every call, in order (one key per logical call, whatever the attempt). */
  readonly keys: readonly string[];
  /** The attempt of every call, in order. */
  readonly attempts: readonly number[];
}

/** Wraps `run` with counters of calls, aborted signals and idempotency keys seen. */
export function counted<S extends z.ZodType>(options: ToolOptions<S>): CountedTool {
  const state = { calls: 0, aborted: 0, keys: [] as string[], attempts: [] as number[] };
  const def = tool({
    ...options,
    run: (input, ctx) => {
      state.calls++;
      state.keys.push(ctx.idempotencyKey);
      state.attempts.push(ctx.attempt);
      ctx.signal.addEventListener('abort', () => state.aborted++, { once: true });
      return options.run(input, ctx);
    },
  });
  return {
    def,
    get calls() {
      return state.calls;
    },
    get aborted() {
      return state.aborted;
    },
    get keys() {
      return state.keys;
    },
    get attempts() {
      return state.attempts;
    },
  };
}

/** Resolves after `ms`, or rejects when `signal` aborts: a well-behaved slow call. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      reject(signal.reason);
    }, { once: true });
  });
}

/** Waits until `check` holds, polling the event loop; fails the test after `ms`. */
export async function until(check: () => boolean | Promise<boolean>, ms = 2_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await sleep(2);
  }
}

export const lookupInput = z.object({ orderId: z.string() });

/** Waits until the run's lease has expired in the store: the moment another worker may take it over. */
export async function leaseExpired(store: { readLease(runId: string): Promise<{ expiresAt: number } | null> }, runId: string, ms = 5_000): Promise<void> {
  await until(async () => ((await store.readLease(runId))?.expiresAt ?? 0) < Date.now(), ms);
}
