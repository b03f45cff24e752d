/**
 * The human approval queue on every store: items put when a run waits (with
 * redacted arguments, priority, requested-at and deadline), listed most
 * urgent first, approved, rejected with feedback, approved with edited
 * arguments, expired at their deadline, cancelled by a kill, decided from
 * another process, decided while the run is paused, and re-put after a crash.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { approvalQueue, InvalidEditError, type ApprovalQueue } from '../../agents/approvals.js';
import { Supervisor } from '../../agents/supervisor.js';
import { defineAgent, scriptedModel, tool, type Agent, type ScriptContext, type ScriptStep } from '../../index.js';
import { ApprovalExpiredError, ApprovalNotPendingError } from '../../persistence/errors.js';
import type { SnapshotStore } from '../../persistence/store.js';
import { STORE_CASES } from '../durable/stores.js';
import { faulty } from '../support/faulty-store.js';
import { leaseExpired, until } from '../support/tools.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** A refund tool that needs approval above 100, with its executions recorded. */
function refunds() {
  const executed: Array<{ input: { orderId: string; amount: number; apiKey: string }; key: string }> = [];
  const def = tool({
    name: 'refund',
    description: 'Refund an order',
    input: z.object({ orderId: z.string(), amount: z.number().positive().max(1_000), apiKey: z.string() }),
    sideEffect: 'non-idempotent',
    approval: { when: ({ amount }) => amount > 100, priority: 5, timeoutMs: 60_000 },
    run: (input, ctx) => {
      executed.push({ input, key: ctx.idempotencyKey });
      return { refunded: input.amount };
    },
  });
  return { def, executed };
}

/** The model asks for a refund, then answers with what the last tool result said. */
function refundScript(amount: number): (ctx: ScriptContext) => ScriptStep {
  return ({ turn, lastResults }) => (turn === 1 ? { call: 'refund', args: { orderId: 'o-1', amount, apiKey: 'sk-live-1' } } : { answer: lastResults[0]?.content ?? '' });
}

for (const storeCase of STORE_CASES) {
  describe(`approval queue on ${storeCase.name}`, () => {
    async function open(store: SnapshotStore, agents: Agent<any>[], workerId: string, pollMs = 50) {
      const queue = approvalQueue({ store, agents, pollMs });
      const supervisor = await Supervisor.open({ store, agents, workerId, leaseMs: 300, observers: [queue.observer] });
      cleanups.push(async () => {
        queue.close();
        await supervisor.close({ timeoutMs: 200 });
      });
      return { queue, supervisor };
    }
    async function setup() {
      const s = await storeCase.create();
      cleanups.push(s.cleanup);
      return s;
    }
    /** Waits for the run's item and returns it as listed. */
    async function itemOf(queue: ApprovalQueue, runId: string) {
      let listed: Awaited<ReturnType<ApprovalQueue['list']>>[number] | undefined;
      await until(async () => (listed = (await queue.list()).find((i) => i.runId === runId)) !== undefined, 5_000);
      return listed!;
    }

    it('puts an item with redacted arguments, priority and deadline; approve runs the call once and records who and when', async () => {
      const { open: handle } = await setup();
      const store = await handle();
      const r = refunds();
      const agent = defineAgent({ id: 'desk', goal: 'g', model: scriptedModel(refundScript(500)), tools: [r.def] });
      const { queue, supervisor } = await open(store, [agent], 'w1');
      const run = await supervisor.start('desk', { runId: `approve-${storeCase.name}` });
      const item = await itemOf(queue, run.runId);
      const context = run.actor.getSnapshot().context;
      expect(item).toMatchObject({
        itemId: `${run.runId}:2:1:call`,
        agentId: 'desk',
        tool: 'refund',
        arguments: { orderId: 'o-1', amount: 500, apiKey: '[redacted]' },
        priority: 5,
        status: 'pending',
        requestedAt: context.approvalRequestedAt,
        deadlineAt: context.approvalDueAt,
      });
      expect(item.deadlineAt - item.requestedAt).toBe(60_000);
      expect(item.ageMs).toBeGreaterThanOrEqual(0);
      expect(r.executed).toHaveLength(0);

      const before = Date.now();
      const { item: decided, delivery } = await queue.approve(supervisor, item.itemId, 'alice');
      expect(delivery).toBe('delivered');
      expect(decided).toMatchObject({ status: 'approved', decision: { by: 'alice', editedArguments: null } });
      expect(decided.decision!.at).toBeGreaterThanOrEqual(before);
      expect((await run.outcome).reason).toBe('COMPLETED');
      expect(r.executed.map((e) => e.input)).toEqual([{ orderId: 'o-1', amount: 500, apiKey: 'sk-live-1' }]);
      // Decided once: a second decision is refused with the store's typed error, and nothing is sent.
      await expect(queue.approve(supervisor, item.itemId, 'bob')).rejects.toThrow();
      await expect(store.approvalDecide(item.itemId, { status: 'approved', by: 'bob', at: Date.now(), feedback: null, editedArguments: null })).rejects.toBeInstanceOf(ApprovalNotPendingError);
      await queue.idle();
      expect((await store.approvalGet(item.itemId))?.decision?.by).toBe('alice');
      expect((await store.traceRead(run.runId)).filter((e) => e.kind === 'approval')).toMatchObject([{ item: item.itemId, status: 'approved', by: 'alice' }]);
      expect(await queue.list()).toEqual([]);
    });

    it('reject sends the feedback to the model, which re-plans; the call never runs', async () => {
      const { open: handle } = await setup();
      const store = await handle();
      const r = refunds();
      const agent = defineAgent({ id: 'desk', goal: 'g', model: scriptedModel(refundScript(500)), tools: [r.def] });
      const { queue, supervisor } = await open(store, [agent], 'w1');
      const run = await supervisor.start('desk', { runId: `reject-${storeCase.name}` });
      const item = await itemOf(queue, run.runId);
      const { item: decided } = await queue.reject(supervisor, item.itemId, 'bob', 'offer a voucher instead');
      expect(decided).toMatchObject({ status: 'rejected', decision: { by: 'bob', feedback: 'offer a voucher instead' } });
      expect(await run.outcome).toMatchObject({ reason: 'COMPLETED', result: 'Rejected by bob: offer a voucher instead' });
      expect(r.executed).toHaveLength(0);
    });

    it('edit then approve: the call runs with the edited input (secrets kept), the model is told; an invalid edit is refused before anything is decided', async () => {
      const { open: handle } = await setup();
      const store = await handle();
      const r = refunds();
      const agent = defineAgent({ id: 'desk', goal: 'g', model: scriptedModel(refundScript(500)), tools: [r.def] });
      const { queue, supervisor } = await open(store, [agent], 'w1');
      const run = await supervisor.start('desk', { runId: `edit-${storeCase.name}` });
      const item = await itemOf(queue, run.runId);

      await expect(queue.approve(supervisor, item.itemId, 'carol', { arguments: { ...(item.arguments as object), amount: 5_000 } })).rejects.toBeInstanceOf(InvalidEditError);
      expect((await store.approvalGet(item.itemId))?.status).toBe('pending');

      // The operator edits the listed (redacted) arguments: the secret stays the run's own.
      const { item: decided } = await queue.approve(supervisor, item.itemId, 'carol', { arguments: { ...(item.arguments as object), amount: 150 } });
      expect(decided.decision).toMatchObject({ by: 'carol', editedArguments: { orderId: 'o-1', amount: 150, apiKey: '[redacted]' } });
      const outcome = await run.outcome;
      expect(r.executed).toEqual([{ input: { orderId: 'o-1', amount: 150, apiKey: 'sk-live-1' }, key: `${run.runId}:2` }]);
      expect(outcome.reason).toBe('COMPLETED');
      const seen = JSON.parse((outcome as { result: string }).result) as { note: string; arguments: unknown; result: unknown };
      expect(seen).toMatchObject({ note: expect.stringContaining('carol edited the arguments'), arguments: { amount: 150 }, result: { refunded: 150 } });
    });

    it('an item past its deadline is not approvable: the run escalates and the item expires', async () => {
      const { open: handle } = await setup();
      const store = await handle();
      const pay = tool({ name: 'pay', description: 'p', input: z.object({ amount: z.number() }), sideEffect: 'non-idempotent', approval: { timeoutMs: 250 }, run: () => 'paid' });
      const agent = defineAgent({ id: 'stale', goal: 'g', model: scriptedModel([{ call: 'pay', args: { amount: 1 } }]), tools: [pay] });
      const { queue, supervisor } = await open(store, [agent], 'w1');
      const run = await supervisor.start('stale', { runId: `expire-${storeCase.name}` });
      const item = await itemOf(queue, run.runId);
      expect(await run.outcome).toMatchObject({ reason: 'ESCALATED', by: 'approval-timeout', pending: { tool: 'pay' } });
      await queue.idle();
      expect(await store.approvalGet(item.itemId)).toMatchObject({ status: 'expired', decision: { by: 'reins' } });
      expect(await queue.list({ includeStale: true })).toEqual([]);
      await expect(queue.approve(supervisor, item.itemId, 'late')).rejects.toThrow(/ended|not pending/);
      await expect(store.approvalDecide(item.itemId, { status: 'approved', by: 'late', at: Date.now(), feedback: null, editedArguments: null })).rejects.toBeInstanceOf(ApprovalNotPendingError);
    });

    it('an expired item with onTimeout replan: the model is told and re-plans; a decision after the deadline is refused', async () => {
      const { open: handle } = await setup();
      const store = await handle();
      const pay = tool({ name: 'pay', description: 'p', input: z.object({}), sideEffect: 'non-idempotent', approval: true, run: () => 'paid' });
      const agent = defineAgent({
        id: 'replan',
        goal: 'g',
        model: scriptedModel(({ turn, lastResults }) => (turn === 1 ? { call: 'pay' } : { answer: lastResults[0]?.content ?? '' })),
        tools: [pay],
        approval: { timeoutMs: 250, onTimeout: 'replan' },
      });
      const { queue, supervisor } = await open(store, [agent], 'w1');
      const run = await supervisor.start('replan', { runId: `replan-${storeCase.name}` });
      const item = await itemOf(queue, run.runId);
      expect(await run.outcome).toMatchObject({ reason: 'COMPLETED', result: 'Not run: the approval request expired before anyone approved it.' });
      await queue.idle();
      expect((await store.approvalGet(item.itemId))?.status).toBe('expired');
      // The store refuses a decision after the deadline even for an item still pending.
      const late = { ...item, itemId: `${item.itemId}-copy`, status: 'pending' as const, decision: null };
      await store.approvalPut(late);
      await expect(store.approvalDecide(late.itemId, { status: 'approved', by: 'x', at: late.deadlineAt + 1, feedback: null, editedArguments: null })).rejects.toBeInstanceOf(ApprovalExpiredError);
    });

    it('lists oldest and highest priority first, with age; a kill cancels the item', async () => {
      const { open: handle } = await setup();
      const store = await handle();
      const low = tool({ name: 'low', description: 'l', input: z.object({}), sideEffect: 'none', approval: { priority: 0 }, run: () => 1 });
      const high = tool({ name: 'high', description: 'h', input: z.object({}), sideEffect: 'none', approval: { priority: 9 }, run: () => 1 });
      const lowAgent = defineAgent({ id: 'low', goal: 'g', model: scriptedModel([{ call: 'low' }, { answer: 1 }]), tools: [low] });
      const highAgent = defineAgent({ id: 'high', goal: 'g', model: scriptedModel([{ call: 'high' }, { answer: 1 }]), tools: [high] });
      const { queue, supervisor } = await open(store, [lowAgent, highAgent], 'w1');
      const a = await supervisor.start('low', { runId: `low-a-${storeCase.name}` });
      await itemOf(queue, a.runId);
      await new Promise((r) => setTimeout(r, 15));
      const b = await supervisor.start('low', { runId: `low-b-${storeCase.name}` });
      await itemOf(queue, b.runId);
      const c = await supervisor.start('high', { runId: `high-c-${storeCase.name}` });
      await itemOf(queue, c.runId);
      const listed = await queue.list();
      expect(listed.map((i) => i.runId)).toEqual([c.runId, a.runId, b.runId]);
      expect(listed[1]!.ageMs).toBeGreaterThanOrEqual(listed[2]!.ageMs);

      await supervisor.kill(b.runId, 'dave', 'not needed');
      expect((await b.outcome).reason).toBe('USER_KILLED');
      await queue.idle();
      expect(await store.approvalGet(listed[2]!.itemId)).toMatchObject({ status: 'cancelled', decision: { by: 'dave' } });
      await supervisor.kill(a.runId, 'dave', 'x');
      await supervisor.kill(c.runId, 'dave', 'x');
      await Promise.all([a.outcome, c.outcome]);
    });

    it('a decision taken in another process reaches the owner through the store, edits included', async () => {
      const { open: handle } = await setup();
      const r = refunds();
      const agent = defineAgent({ id: 'desk', goal: 'g', model: scriptedModel(refundScript(500)), tools: [r.def] });
      const owner = await open(await handle(), [agent], 'owner');
      const operator = await open(await handle(), [agent], 'operator');
      const run = await owner.supervisor.start('desk', { runId: `remote-${storeCase.name}` });
      const item = await itemOf(operator.queue, run.runId);
      const { delivery } = await operator.queue.approve(operator.supervisor, item.itemId, 'erin', { arguments: { ...(item.arguments as object), amount: 120 } });
      expect(delivery).toBe('by-owner');
      expect((await run.outcome).reason).toBe('COMPLETED');
      expect(r.executed.map((e) => e.input.amount)).toEqual([120]);
      expect(operator.supervisor.get(run.runId)).toBeUndefined();
    });

    it('a decision for a paused run takes effect when it is resumed', async () => {
      const { open: handle } = await setup();
      const store = await handle();
      const r = refunds();
      const agent = defineAgent({ id: 'desk', goal: 'g', model: scriptedModel(refundScript(500)), tools: [r.def] });
      const { queue, supervisor } = await open(store, [agent], 'w1');
      const run = await supervisor.start('desk', { runId: `paused-${storeCase.name}` });
      const item = await itemOf(queue, run.runId);
      await supervisor.pause(run.runId, 'frank', 'checking the order');
      await until(async () => (await store.load(run.runId))?.summary.status === 'paused');
      const { delivery } = await queue.approve(supervisor, item.itemId, 'frank');
      expect(delivery).toBe('on-resume');
      await new Promise((res) => setTimeout(res, 120));
      expect(r.executed).toHaveLength(0);
      await supervisor.resume(run.runId, 'frank');
      expect((await run.outcome).reason).toBe('COMPLETED');
      expect(r.executed).toHaveLength(1);
    });

    it('a run restored after its worker died keeps its item (same id, same requested-at) and takes the decision', async () => {
      const { open: handle } = await setup();
      const base = await handle();
      const fault = faulty(base);
      const r = refunds();
      const agent = defineAgent({ id: 'desk', goal: 'g', model: scriptedModel(refundScript(500)), tools: [r.def] });
      const first = await open(fault.store, [agent], 'w1');
      const run = await first.supervisor.start('desk', { runId: `restored-${storeCase.name}` });
      const item = await itemOf(first.queue, run.runId);
      // The worker dies once the run rests durably in awaitingApproval (the item is put by an observer of the transition,
      // which may come before the snapshot that holds it is committed).
      await until(async () => (await base.load(run.runId))?.summary.state === 'awaitingApproval');
      fault.set('frozen');
      await leaseExpired(base, run.runId);
      const second = await open(base, [agent], 'w2');
      const [restored] = await second.supervisor.recover();
      expect(restored?.status().state).toBe('awaitingApproval');
      await second.queue.idle();
      const items = await second.queue.list();
      expect(items.filter((i) => i.runId === run.runId)).toMatchObject([{ itemId: item.itemId, requestedAt: item.requestedAt }]);
      await second.queue.approve(second.supervisor, item.itemId, 'gina');
      expect((await restored!.outcome).reason).toBe('COMPLETED');
      expect(r.executed).toHaveLength(1);
    });
  });
}

describe('approval decisions inside the machine', () => {
  it('a late decision naming an earlier item is ignored; an invalid edit is not run and the model is told', async () => {
    const r = refunds();
    const agent = defineAgent({
      id: 'desk',
      goal: 'g',
      model: scriptedModel(({ turn, lastResults }) =>
        turn <= 2 ? { call: 'refund', args: { orderId: `o-${turn}`, amount: 500, apiKey: 'k' } } : { answer: lastResults.map((l) => l.content).join(' | ') },
      ),
      tools: [r.def],
    });
    const run = agent.start({ runId: 'm1' });
    await until(() => run.status().status === 'awaiting-approval');
    run.send({ type: 'APPROVE', by: 'ops', item: 'm1:2:1:call' });
    await until(() => run.status().status === 'awaiting-approval' && run.status().step === 4);
    // Item m1:2:1:call again: a late repeat of the first decision must not approve the second request.
    run.send({ type: 'APPROVE', by: 'ops', item: 'm1:2:1:call' });
    expect(run.status().status).toBe('awaiting-approval');
    run.send({ type: 'APPROVE', by: 'ops', item: 'm1:4:1:call', arguments: { orderId: 'o-2', amount: -3, apiKey: '[redacted]' } });
    const outcome = await run.outcome;
    expect(r.executed.map((e) => e.input.orderId)).toEqual(['o-1']);
    expect(outcome).toMatchObject({ reason: 'COMPLETED', result: expect.stringContaining('Not run: the arguments ops edited are invalid') });
  });
});
