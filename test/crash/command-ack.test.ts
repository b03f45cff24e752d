import { afterAll, describe, it } from 'vitest';
import { Supervisor } from '../../agents/supervisor.js';
import { TerminalOutcome } from '../../machines/outcome.js';
import { APPROVAL, buildAgents, prng } from './agents.js';
import { memoryLedger, openLedger } from './effects.js';
import { canSpawnWorkers, cleanUp, openStore, spawnWorker, STORE_CASES, waitUntil } from './harness.js';
import type { WorkerMessage } from './protocol.js';

/**
 * An operator command leaves the store only with the commit that stores its
 * effect: a worker holding a run in awaitingApproval applies an APPROVE and
 * is SIGKILLed before the commit that acknowledges it (its store holds that
 * commit back, so the kill lands in the window every time). The APPROVE is
 * still queued; the worker that recovers the run applies it: the run ends
 * COMPLETED with the approved call's effect exactly once.
 */
const LEASE_MS = 1_000;

afterAll(cleanUp);

describe.skipIf(!canSpawnWorkers())('an operator command survives its applier dying before the commit', () => {
  for (const storeCase of STORE_CASES) {
    it.concurrent(`${storeCase.name}: APPROVE applied, worker SIGKILLed before the commit; the next worker completes the run, the approved call once`, async ({ expect }) => {
      const specs = storeCase.make();
      const store = await openStore(specs.store);
      const ledger = openLedger(specs.effects);
      const operator = await Supervisor.open({ store, agents: buildAgents({ ledger: memoryLedger(), rand: prng(0) }), leaseMs: LEASE_MS, workerId: 'operator' });
      const p1 = spawnWorker({ ...specs, leaseMs: LEASE_MS, seed: 1, holdCommandAcks: true });
      const p2 = spawnWorker({ ...specs, leaseMs: LEASE_MS, seed: 2 });
      try {
        await Promise.all([p1.ready, p2.ready]);
        const runId = `ack-${storeCase.name}`;
        await p1.call('start', APPROVAL.agent, runId);
        await waitUntil(async () => (await store.load(runId))?.summary.state === 'awaitingApproval', 10_000, 'the run to wait for approval', 20);

        await operator.approve(runId, 'oncall');
        const held = await p1.waitFor((m): m is Extract<WorkerMessage, { type: 'holding' }> => m.type === 'holding' && m.runId === runId, 5_000, 'the commit acknowledging the APPROVE');
        await p1.kill9();

        // The owner applied the APPROVE and died before storing it: the command is still queued, the run still waits.
        const queued = await store.peekCommands(runId);
        expect(queued.map((q) => q.command.type)).toEqual(['APPROVE']);
        expect(held.commands).toEqual(queued.map((q) => q.id));
        expect((await store.load(runId))?.summary.state).toBe('awaitingApproval');
        expect((await ledger.effects()).size).toBe(0);

        await waitUntil(async () => ((await store.readLease(runId))?.expiresAt ?? 0) < Date.now(), LEASE_MS + 2_000, 'the dead owner’s lease to expire', 25);
        expect(await p2.call<string[]>('recover')).toEqual([runId]);
        const outcome = TerminalOutcome.parse((await p2.waitFor((m): m is Extract<WorkerMessage, { type: 'outcome' }> => m.type === 'outcome' && m.runId === runId, 15_000, 'the outcome')).outcome);
        const stored = await store.load(runId);
        const effects = [...(await ledger.effects())];
        console.log(`[crash] command ack ${storeCase.name}: APPROVE applied by the owner, owner SIGKILLed before its commit, recovered by another worker: ${outcome.reason}, effects ${JSON.stringify(effects)}`);
        expect(outcome.reason).toBe('COMPLETED');
        expect(stored?.summary).toMatchObject({ status: 'done', reason: 'COMPLETED' });
        expect(effects).toHaveLength(1);
        expect(effects[0]![0]).toContain(runId);
        expect(effects[0]![1]).toBe(1);
        expect(await store.peekCommands(runId)).toEqual([]);
      } finally {
        await Promise.all([p1.kill9(), p2.kill9()]);
        await operator.close({ timeoutMs: 500 });
        await store.close();
        await ledger.close();
      }
    }, 40_000);
  }
});
