import { z } from 'zod';
// Straight from the modules, not the package index: a worker process starts faster without the rest of the public API.
import { defineAgent, type Agent } from '../../agents/define-agent.js';
import type { Model } from '../../agents/model.js';
import { scriptedModel, type ScriptStep } from '../../agents/scripted-model.js';
import { tool, type ToolDefinition } from '../../agents/tool.js';
import type { EffectLedger } from './effects.js';

/**
 * The agents every crash-test process registers: deterministic scripted
 * models (several turns, tool calls), tools whose side effects land in a
 * shared EffectLedger, and small jittered latencies so that kills land at
 * different points of a run.
 */
export interface AgentKit {
  readonly ledger: EffectLedger;
  /** Uniform in [0, 1): the latency jitter (seeded in workers, so a trial replays the same waits). */
  readonly rand: () => number;
  /** Upper bound of each jittered wait, in ms. Default 12. */
  readonly jitterMs?: number;
  /** How long the lease-test tools take. Default 400. */
  readonly slowMs?: number;
}

/** The mix of the random-kill test, one per side-effect class. */
export const CRASH_AGENTS = ['reader', 'writer', 'payer', 'mailer'] as const;
export type CrashAgentId = (typeof CRASH_AGENTS)[number];

/** The side-effect class of each crash agent's tool, and whether it reconciles. */
export const TOOL_CLASS: Record<CrashAgentId, { tool: string; sideEffect: 'none' | 'idempotent' | 'non-idempotent'; reconcile: boolean }> = {
  reader: { tool: 'lookup', sideEffect: 'none', reconcile: false },
  writer: { tool: 'put', sideEffect: 'idempotent', reconcile: false },
  payer: { tool: 'charge', sideEffect: 'non-idempotent', reconcile: true },
  mailer: { tool: 'send', sideEffect: 'non-idempotent', reconcile: false },
};

/** Tool calls per crash-agent run (then one answer turn). */
export const TOOL_TURNS = 3;

/** Lease-test agents: one slow call of each class, then a lookup, then the answer. */
export const SLOW_AGENTS = { 'slow-put': 'slow_put', 'slow-charge': 'slow_charge', 'slow-send': 'slow_send' } as const;

/** The control-test agent: CONTROL_TURNS quick read-only steps, then the answer. */
export const CONTROL_TURNS = 8;

/** The approval agent: one non-idempotent call that waits for an operator's APPROVE, then the answer. */
export const APPROVAL = { agent: 'approver', tool: 'approved_send' } as const;

/** The Redis-restart agent: LONG_TURNS calls cycling through every tool class. */
export const LONG_TURNS = 10;

const Item = z.object({ item: z.string() });

/** Every agent, bound to one ledger. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function buildAgents(kit: AgentKit): Agent<any>[] {
  const { ledger, rand } = kit;
  const jitterMs = kit.jitterMs ?? 12;
  const slowMs = kit.slowMs ?? 400;
  const wait = (signal: AbortSignal) => sleep(Math.floor(rand() * jitterMs), signal);

  /**
   * A tool body: jittered wait, one execution counted, the effect (if any: never after an abort, nor past the
   * attempt's deadline, as a provider honouring a request deadline does), jittered wait.
   */
  const body = (effect: ((key: string) => Promise<void>) | null, result: (item: string) => unknown) =>
    async ({ item }: { item: string }, ctx: { idempotencyKey: string; signal: AbortSignal; deadline: number }) => {
      await wait(ctx.signal);
      await ledger.executed(ctx.idempotencyKey);
      if (effect) {
        ctx.signal.throwIfAborted();
        if (Date.now() >= ctx.deadline) throw new Error('past the request deadline: not applied');
        await effect(ctx.idempotencyKey);
      }
      await wait(ctx.signal);
      return result(item);
    };

  // The timeout bounds a call's window: a new owner decides about a previous owner's unfinished call only once
  // that owner's lease plus this has passed, so it is kept well above the tools' waits and well below a test's patience.
  const noRetryStorm = { retry: { maxAttempts: 10, baseDelayMs: 5, jitter: 'none' as const }, circuit: { failureThreshold: 100 }, timeoutMs: Math.max(1_000, 4 * slowMs) };
  const lookup = tool({ name: 'lookup', description: 'reads an item', input: Item, sideEffect: 'none', run: body(null, (item) => ({ item, found: true })) });
  const put = tool({ name: 'put', description: 'stores an item by key', input: Item, sideEffect: 'idempotent', ...noRetryStorm, run: body(ledger.applyOnce, (item) => ({ item, stored: true })) });
  const charge = tool({
    name: 'charge',
    description: 'charges for an item; can be looked up by key',
    input: Item,
    sideEffect: 'non-idempotent',
    ...noRetryStorm,
    run: body(ledger.apply, (item) => ({ item, charged: true })),
    reconcile: async (key, { item }) => ((await ledger.has(key)) ? { applied: true, result: { item, charged: true } } : { applied: false }),
  });
  const send = tool({ name: 'send', description: 'sends a message about an item', input: Item, sideEffect: 'non-idempotent', ...noRetryStorm, run: body(ledger.apply, (item) => ({ item, sent: true })) });

  /** A slow call: the effect first, then a long wait that honours the abort signal. */
  const slow = (name: string, sideEffect: 'idempotent' | 'non-idempotent', effect: (key: string) => Promise<void>, reconcile: boolean): ToolDefinition =>
    tool({
      name,
      description: `${name}, slowly`,
      input: Item,
      sideEffect,
      ...noRetryStorm,
      run: async ({ item }, ctx) => {
        await ledger.executed(ctx.idempotencyKey);
        await effect(ctx.idempotencyKey);
        await sleep(slowMs, ctx.signal);
        return { item, done: name };
      },
      ...(reconcile ? { reconcile: async (key: string, { item }: { item: string }) => ((await ledger.has(key)) ? { applied: true as const, result: { item, done: name } } : { applied: false as const }) } : {}),
    });
  const slowTools = {
    slow_put: slow('slow_put', 'idempotent', ledger.applyOnce, false),
    slow_charge: slow('slow_charge', 'non-idempotent', ledger.apply, true),
    slow_send: slow('slow_send', 'non-idempotent', ledger.apply, false),
  };
  const step = tool({ name: 'step', description: 'one quick read-only step', input: Item, sideEffect: 'none', run: async ({ item }, ctx) => (await sleep(60, ctx.signal), { item, ok: true }) });

  /** A model that calls `calls[turn-1]` and then answers with every tool result it saw, counting its calls in the ledger. */
  const scripted = (agentId: string, calls: ReadonlyArray<{ tool: string; item: string }>): Model => {
    const inner = scriptedModel(({ turn, messages }): ScriptStep => {
      const latencyMs = Math.floor(rand() * jitterMs);
      const call = calls[turn - 1];
      if (call) return { call: call.tool, args: { item: call.item }, latencyMs };
      return { answer: { agent: agentId, results: messages.filter((m) => m.role === 'tool').map((m) => m.content) }, latencyMs };
    });
    return {
      id: inner.id,
      generate: async (request) => {
        await ledger.executed(`model|${request.idempotencyKey}`);
        return inner.generate(request);
      },
    };
  };
  const tools = [lookup, put, charge, send, step, ...Object.values(slowTools)];
  const agent = (id: string, calls: ReadonlyArray<{ tool: string; item: string }>) =>
    defineAgent({ id, goal: `crash test agent ${id}`, model: scripted(id, calls), tools, progress: false, version: `crash-${id}-1` });

  const crash = CRASH_AGENTS.map((id) => agent(id, Array.from({ length: TOOL_TURNS }, (_, i) => ({ tool: TOOL_CLASS[id].tool, item: `${id}-${i + 1}` }))));
  const slowAgents = Object.entries(SLOW_AGENTS).map(([id, name]) => agent(id, [{ tool: name, item: 's1' }, { tool: 'lookup', item: 'l2' }]));
  const control = agent('ctl', Array.from({ length: CONTROL_TURNS }, (_, i) => ({ tool: 'step', item: `c${i + 1}` })));
  const cycle = ['lookup', 'put', 'charge', 'send'];
  const long = agent('long', Array.from({ length: LONG_TURNS }, (_, i) => ({ tool: cycle[i % cycle.length]!, item: `x${i + 1}` })));
  const approvedSend = tool({ name: APPROVAL.tool, description: 'sends once an operator approves', input: Item, sideEffect: 'non-idempotent', approval: true, ...noRetryStorm, run: body(ledger.apply, (item) => ({ item, sent: true })) });
  const approver = defineAgent({ id: APPROVAL.agent, goal: 'crash test agent approver', model: scripted(APPROVAL.agent, [{ tool: APPROVAL.tool, item: 'a1' }]), tools: [approvedSend], progress: false, version: 'crash-approver-1' });
  return [...crash, ...slowAgents, control, long, approver];
}

/** The outcome an uninterrupted run of `agentId` ends with (reason, result, turns), computed by running it in memory. */
export async function uninterrupted(agentId: string, kit: AgentKit): Promise<{ reason: string; result: unknown; turns: number }> {
  const agent = buildAgents(kit).find((a) => a.id === agentId);
  if (!agent) throw new Error(`no agent ${agentId}`);
  const outcome = await agent.run({ runId: `baseline-${agentId}` });
  return { reason: outcome.reason, result: outcome.reason === 'COMPLETED' ? outcome.result : null, turns: outcome.turns };
}

/** mulberry32, as reins/testing's exploration uses it: a failing trial is replayed from its seed. */
export { seededRandom as prng } from '../../testing/random.js';

/** Resolves after `ms`, or rejects when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
