import { closeSync, fdatasyncSync, mkdirSync, openSync, readdirSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { defineAgent, type Agent } from '../../agents/define-agent.js';
import { definePipeline, type Pipeline } from '../../agents/pipeline.js';
import type { Hostable } from '../../agents/run-definition.js';
import { scriptedModel } from '../../agents/scripted-model.js';
import { subAgentTool } from '../../agents/sub-agent.js';
import { tool } from '../../agents/tool.js';

/** Tool turns of a fleet-test run before its answer. */
export const FLEET_TURNS = 20;

/** The tools a fleet run cycles through: a read, an idempotent write, a non-idempotent charge that reconciles. */
export const CYCLE = ['lookup', 'put', 'charge'] as const;

/**
 * The external system of the fleet tests: every effect is one line appended
 * to this process's file in `dir` and fdatasynced before the tool returns, so
 * a SIGKILL never loses an effect that happened. Lines name the logical call
 * (`<runId>|<item>`), not the idempotency key, so a call repeated under
 * another attempt still counts against the same call.
 */
export class SyncedLedger {
  readonly #fd: number;

  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
    this.#fd = openSync(join(dir, `${process.pid}-${Date.now()}.log`), 'a');
  }

  /** Appends one effect and waits for the disk. */
  append(kind: 'apply' | 'once', call: string): void {
    writeSync(this.#fd, `${kind} ${call}\n`);
    fdatasyncSync(this.#fd);
  }

  /** Whether `call` took effect, in any process. */
  has(call: string): boolean {
    return readLedger(this.dir).has(call);
  }

  close(): void {
    closeSync(this.#fd);
  }
}

/** Effects per logical call across every process's file: `apply` lines counted, `once` lines (deduplicated by the system) as one. */
export function readLedger(dir: string): Map<string, { apply: number; once: number }> {
  const counts = new Map<string, { apply: number; once: number }>();
  for (const name of readdirSync(dir)) {
    for (const line of readFileSync(join(dir, name), 'utf8').split('\n')) {
      const [kind, call] = line.split(' ');
      if (!call || (kind !== 'apply' && kind !== 'once')) continue;
      const c = counts.get(call) ?? { apply: 0, once: 0 };
      c[kind]++;
      counts.set(call, c);
    }
  }
  return counts;
}

const Item = z.object({ item: z.string() });
/** The run id in an idempotency key (`<runId>:<step>:…`; fleet-test run ids hold no colon). */
const runOf = (key: string) => key.slice(0, key.indexOf(':'));
const jitter = (ms: number) => new Promise((r) => setTimeout(r, Math.floor(Math.random() * ms)));

/**
 * Which release of the fleet-test agents a process runs: `fixed` (explicit
 * versions), or a rolling deploy's `v1` and `v2`, both with computed
 * versions, v2 with one tool more (so its version differs).
 */
export type FleetRelease = 'fixed' | 'v1' | 'v2';

/**
 * The fleet-test agents: `turns` runs FLEET_TURNS tool calls cycling through
 * CYCLE, then answers; `approval` asks for approval of one charge, then
 * answers; `delegate` hands that charge to a sub-agent run of `approval`.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function fleetAgents(ledger: SyncedLedger, jitterMs = 4, release: FleetRelease = 'fixed'): Agent<any>[] {
  const logical = (key: string, item: string) => `${runOf(key)}|${item}`;
  const lookup = tool({ name: 'lookup', description: 'reads an item', input: Item, sideEffect: 'none', run: async ({ item }) => (await jitter(jitterMs), { item }) });
  const put = tool({
    name: 'put',
    description: 'stores an item by key',
    input: Item,
    sideEffect: 'idempotent',
    run: async ({ item }, ctx) => (await jitter(jitterMs), ledger.append('once', logical(ctx.idempotencyKey, item)), { item, stored: true }),
  });
  const charge = tool({
    name: 'charge',
    description: 'charges for an item; looked up by key',
    input: Item,
    sideEffect: 'non-idempotent',
    run: async ({ item }, ctx) => {
      await jitter(jitterMs);
      ctx.signal.throwIfAborted();
      ledger.append('apply', logical(ctx.idempotencyKey, item));
      return { item, charged: true };
    },
    reconcile: async (key, { item }) => (ledger.has(logical(key, item)) ? { applied: true, result: { item, charged: true } } : { applied: false }),
  });
  const approvedCharge = tool({
    name: 'approved_charge',
    description: 'a charge a human approves first',
    input: Item,
    sideEffect: 'non-idempotent',
    approval: true,
    run: async ({ item }, ctx) => (ledger.append('apply', logical(ctx.idempotencyKey, item)), { item, charged: true }),
    reconcile: async (key, { item }) => (ledger.has(logical(key, item)) ? { applied: true, result: { item, charged: true } } : { applied: false }),
  });
  const note = tool({ name: 'note', description: 'writes a note (added in v2)', input: Item, sideEffect: 'none', run: async ({ item }) => ({ item }) });
  const tools = release === 'v2' ? [lookup, put, charge, approvedCharge, note] : [lookup, put, charge, approvedCharge];
  const turns = defineAgent({
    id: 'turns',
    goal: 'make twenty calls',
    model: scriptedModel(({ turn }) => (turn <= FLEET_TURNS ? { call: CYCLE[(turn - 1) % CYCLE.length]!, args: { item: `t${turn}` } } : { answer: 'done' })),
    tools,
    progress: false,
    limits: { maxTurns: FLEET_TURNS + 5 },
    ...(release === 'fixed' ? { version: 'fleet-turns-1' } : {}),
  });
  const approval = defineAgent({
    id: 'approval',
    goal: 'charge once, approved',
    model: scriptedModel([{ call: 'approved_charge', args: { item: 'a1' } }, { answer: 'charged' }]),
    tools,
    progress: false,
    approval: { timeoutMs: 24 * 3_600_000 },
    ...(release === 'fixed' ? { version: 'fleet-approval-1' } : {}),
  });
  const delegate = defineAgent({
    id: 'delegate',
    goal: 'have a sub-agent charge once',
    model: scriptedModel([{ call: 'delegate_charge', args: { item: 'a1' } }, { answer: 'delegated' }]),
    tools: [subAgentTool({ name: 'delegate_charge', description: 'a sub-agent charges, once approved', input: Item, agent: approval })],
    progress: false,
    version: 'fleet-delegate-1',
  });
  return [turns, approval, delegate];
}

/** The input of the fleet-test pipelines: how many children their fan-out stage starts. */
export const FanInput = z.object({ children: z.number().int().min(1).max(64) });
export type FanInput = z.infer<typeof FanInput>;

/**
 * The fleet-test pipelines, over the agents of fleetAgents (the same
 * objects: one id names one definition): `fan` runs `children` runs of
 * `turns` at once (policy all), then one more `turns` child in `close`;
 * `fan-approval` runs `children` runs of `approval` at once, each waiting for
 * a human.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function fleetPipelines(agents: readonly Agent<any>[]): Pipeline<FanInput>[] {
  const [turns, approval] = agents as [Agent<unknown>, Agent<unknown>];
  const fan = definePipeline<FanInput, unknown, 'work' | 'close'>({
    id: 'fan',
    input: FanInput,
    stages: {
      work: { agent: turns, children: ({ input }) => Array.from({ length: input.children }, (_, i) => ({ key: `c${i}`, input: { i } })), concurrency: 64, next: 'close' },
      close: { agent: turns, input: () => ({ close: true }), next: 'complete' },
    },
    version: 'fleet-fan-1',
  });
  const fanApproval = definePipeline<FanInput, unknown, 'charge'>({
    id: 'fan-approval',
    input: FanInput,
    stages: { charge: { agent: approval, children: ({ input }) => Array.from({ length: input.children }, (_, i) => ({ key: `a${i}`, input: { i } })), concurrency: 64, next: 'complete' } },
    version: 'fleet-fan-approval-1',
  });
  return [fan, fanApproval];
}

/** What a fleet-test worker hosts: the agents and the pipelines over them. */
export function fleetHostables(ledger: SyncedLedger, jitterMs?: number, release?: FleetRelease): Hostable[] {
  const agents = fleetAgents(ledger, jitterMs, release);
  return [...agents, ...fleetPipelines(agents)];
}
