/**
 * Agents for the console's browser test, loaded both by the test (which hosts
 * their runs) and by the console child process (`--agents`).
 */
import { z } from 'zod';
import { defineAgent } from '../../agents/define-agent.js';
import { scriptedModel } from '../../agents/scripted-model.js';
import { tool } from '../../agents/tool.js';

const PRICES = { 'sim-1': { inputPerMTok: 3, outputPerMTok: 15 } };

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(timer), reject(signal.reason)), { once: true });
  });

const fetchPage = tool({
  name: 'fetch_page',
  description: 'Fetch one page of a long listing.',
  input: z.object({ page: z.number().int().positive() }),
  sideEffect: 'none',
  run: async ({ page }, { signal }) => {
    await sleep(200, signal);
    return { page, items: [`item ${page}a`, `item ${page}b`] };
  },
});

/**
 * Pages through a listing slowly, one page a turn, until stopped: a run a person can watch advance. Its budgets
 * are far beyond what any test's run reaches however slow the machine, so it never ends by itself.
 */
export const crawler = defineAgent<string>({
  id: 'crawler',
  goal: (task) => task,
  model: scriptedModel(({ turn }) => ({ call: 'fetch_page', args: { page: turn } }), { id: 'sim-1', latencyMs: 80 }),
  tools: [fetchPage],
  prices: PRICES,
  limits: { maxTurns: 1_000_000, maxCostUsd: 1_000, maxWallClockMs: 24 * 3_600_000 },
  progress: false,
});

const refund = tool({
  name: 'issue_refund',
  description: 'Refund an order; every refund waits for a human.',
  input: z.object({ orderId: z.string(), amountUsd: z.number().positive() }),
  sideEffect: 'non-idempotent',
  approval: true,
  run: async ({ orderId, amountUsd }) => ({ refundId: `rf-${orderId}`, amountUsd }),
});

/** Asks for one refund, which waits for approval, then answers. */
export const refunder = defineAgent<string>({
  id: 'refunder',
  goal: (task) => task,
  model: scriptedModel([{ call: 'issue_refund', args: { orderId: 'A-2001', amountUsd: 480 } }, { answer: { refunded: 480 } }], { id: 'sim-1', latencyMs: 20 }),
  tools: [refund],
  prices: PRICES,
  approval: { timeoutMs: 30 * 60_000 },
  progress: false,
});

export const agents = [crawler, refunder];
