import { isDeepStrictEqual } from 'node:util';
import { afterAll, describe, it } from 'vitest';
import { TerminalOutcome } from '../../machines/outcome.js';
import { prng, uninterrupted } from './agents.js';
import { memoryLedger, openLedger } from './effects.js';
import { canSpawnWorkers, cleanUp, delay, is, openStore, spawnWorker, STORE_CASES, waitUntil, type Worker } from './harness.js';
import type { WorkerMessage } from './protocol.js';

/**
 * The paused-process case of leases: worker A hosts runs that are inside a
 * slow call when the test SIGSTOPs it for longer than its lease; worker B
 * recovers them; then A gets SIGCONT. A must be fenced out: whatever it
 * tries to write is refused, B's token is higher, every stored version after
 * the takeover is B's, the outcome is B's, and no side effect happens twice
 * (the idempotent call may run twice, its effect may not; the non-idempotent
 * one with reconcile is reconciled, not repeated; the one without ends
 * ACTION_IN_DOUBT, not repeated).
 */
const LEASE_MS = 600;
const SLOW_MS = 400;
const B_SLOW_MS = 1_500;
const STOPPED_MS = 1_100;

afterAll(cleanUp);

type Write = Extract<WorkerMessage, { type: 'write' }>;
const writes = (w: Worker, runId: string) => w.messages.filter((m): m is Write => m.type === 'write' && m.runId === runId);

describe.skipIf(!canSpawnWorkers())('lease takeover of a SIGSTOPped worker', () => {
  for (const storeCase of STORE_CASES) {
    it.concurrent(`${storeCase.name}: B takes over after A’s lease; A’s writes are refused after SIGCONT; versions and outcome are B’s; no double effect`, async ({ expect }) => {
      const { store: storeSpec, effects } = storeCase.make();
      const config = { store: storeSpec, effects, leaseMs: LEASE_MS, reportWrites: true };
      const a = spawnWorker({ ...config, slowMs: SLOW_MS, seed: 1, workerId: 'worker-A' });
      // B's re-run of the idempotent call is still in flight when A wakes up.
      const b = spawnWorker({ ...config, slowMs: B_SLOW_MS, seed: 2, workerId: 'worker-B' });
      await Promise.all([a.ready, b.ready]);
      const store = await openStore(storeSpec);
      const ledger = openLedger(effects);
      // Three runs, each stopped inside its slow call; every one must see its own writes refused after SIGCONT.
      const runs = (['slow-charge', 'slow-send', 'slow-put'] as const).map((agentId) => ({ agentId, runId: `lease-${agentId}` }));
      for (const r of runs) await a.call('start', r.agentId, r.runId);

      // A is inside every slow call and each call's effect has happened: stop it there.
      const slowKey = (runId: string) => `${runId}:2`;
      await waitUntil(async () => {
        const fx = await ledger.effects();
        return runs.every((r) => fx.has(slowKey(r.runId)));
      }, 10_000, 'A to be inside every slow call');
      // Stop A right after a renewal round was answered for every run (a round renews them all at once): then it
      // holds no FileStore lock file, which would keep B out until A runs again (a lock whose holder is alive is never broken).
      const seen = a.messages.length;
      for (const r of runs) {
        await a.waitFor((m): m is WorkerMessage => m.type === 'write' && m.op === 'renewLease' && m.runId === r.runId && a.messages.indexOf(m) >= seen, 3_000, 'a renewal round');
      }
      a.signal('SIGSTOP');
      const stoppedAt = Date.now();
      await delay(STOPPED_MS);

      const taken = await b.call<string[]>('recover');
      expect([...taken].sort()).toEqual(runs.map((r) => r.runId).sort());
      await delay(100); // B is under way (its re-run of the idempotent call takes SLOW_MS)
      a.signal('SIGCONT');
      const continuedAt = Date.now();
      for (const r of runs) await b.waitFor(is.outcome(r.runId), 10_000, `B's outcome of ${r.runId}`);
      expect(Date.now() - continuedAt).toBeGreaterThan(500); // B was still busy when A woke up
      // A wakes up and lets go of every run: it fences itself (its lease ran out unrenewed) or has its first write refused.
      await waitUntil(async () => (await a.call<string[]>('hosted')).length === 0, 10_000, 'A to let go of its runs after SIGCONT');
      await delay(300);

      const fx = await ledger.effects();
      const execs = await ledger.executions();
      const problems: string[] = [];
      const summary: string[] = [];
      for (const { agentId, runId } of runs) {
        const aWrites = writes(a, runId);
        const bWrites = writes(b, runId);
        const aToken = aWrites.find((w) => (w.op === 'acquireLease' || w.op === 'create') && w.ok)?.token ?? 0;
        const bToken = bWrites.find((w) => w.op === 'acquireLease' && w.ok)?.token ?? 0;
        const lease = await store.readLease(runId);
        if (!(bToken > aToken)) problems.push(`${runId}: B's token ${bToken} is not above A's ${aToken}`);
        if (lease?.token !== bToken) problems.push(`${runId}: stored lease token ${lease?.token}, B's ${bToken}`);

        // After SIGCONT, nothing A tried went through: no fenced write, no renewal, and no journal entry of B's removed.
        // (Trace appends are not fenced by the store contract, and a release with a stale token is a no-op.)
        const late = aWrites.filter((w) => w.at >= continuedAt && w.op !== 'traceAppend' && w.op !== 'releaseLease');
        // Trims are fenced too (they go through commit): a late one of A's must be refused like any other write.
        const accepted = late.filter((w) => w.ok);
        for (const w of accepted) problems.push(`${runId}: A's ${w.op} after SIGCONT went through`);

        // Versions: A's up to the takeover, then B's, each exactly once and in sequence, the last one stored.
        const aVersions = aWrites.filter((w) => w.version !== null && w.ok).map((w) => w.version!);
        const bVersions = bWrites.filter((w) => w.version !== null && w.ok).map((w) => w.version!);
        const all = [...aVersions, ...bVersions];
        const sequential = all.every((v, i) => v === i + 2); // version 1 is the create
        const record = await store.load(runId);
        if (!sequential) problems.push(`${runId}: saved versions A ${aVersions.join(',')} then B ${bVersions.join(',')} are not one sequence`);
        if (record?.version !== bVersions.at(-1)) problems.push(`${runId}: stored v${record?.version}, B's last v${bVersions.at(-1)}`);
        if (aVersions.some((v) => v >= (bVersions[0] ?? Infinity))) problems.push(`${runId}: A saved at or after B's first version`);

        // The outcome is B's, typed, and A reported none.
        const outcome = TerminalOutcome.parse(record?.outcome);
        if (!isDeepStrictEqual(outcome, TerminalOutcome.parse(b.outcomes.get(runId)))) problems.push(`${runId}: stored outcome is not B's`);
        // A lost the run: its handle follows the run, so if it settled, it is with B's outcome (one run, one outcome).
        if (a.outcomes.has(runId) && !isDeepStrictEqual(TerminalOutcome.parse(a.outcomes.get(runId)), outcome)) {
          const o = a.outcomes.get(runId) as { reason: string; error?: { name: string; message: string } };
          problems.push(`${runId}: A's handle ended with an outcome of its own, ${o.reason}${o.error ? ` (${o.error.name}: ${o.error.message})` : ''}`);
        }

        // Effects: never twice. Executions: only the idempotent call may run again.
        const effectCount = fx.get(slowKey(runId)) ?? 0;
        const runs_ = execs.get(slowKey(runId)) ?? 0;
        if (effectCount !== 1) problems.push(`${runId}: effect count ${effectCount}`);
        const effectKeys = [...fx.keys()].filter((k) => k.startsWith(`${runId}:`));
        if (effectKeys.length !== 1) problems.push(`${runId}: effects under ${effectKeys.join(', ')}`);
        const baseline = await uninterrupted(agentId, { ledger: memoryLedger(), rand: prng(1) });
        if (agentId === 'slow-put') {
          if (runs_ !== 2) problems.push(`${runId}: the idempotent call ran ${runs_} times (A once, B once expected)`);
          if (outcome.reason !== 'COMPLETED' || JSON.stringify(outcome.result) !== JSON.stringify(baseline.result)) problems.push(`${runId}: ${JSON.stringify(outcome)}`);
        } else if (agentId === 'slow-charge') {
          if (runs_ !== 1) problems.push(`${runId}: the reconciled call ran ${runs_} times`);
          if (outcome.reason !== 'COMPLETED' || JSON.stringify(outcome.result) !== JSON.stringify(baseline.result)) problems.push(`${runId}: ${JSON.stringify(outcome)}`);
        } else {
          if (runs_ !== 1) problems.push(`${runId}: the non-idempotent call ran ${runs_} times`);
          if (outcome.reason !== 'ACTION_IN_DOUBT') problems.push(`${runId}: ${JSON.stringify(outcome)}`);
        }
        summary.push(`${agentId}: tokens A=${aToken} B=${bToken}, versions A≤${aVersions.at(-1)} B ${bVersions[0]}..${bVersions.at(-1)}, A refused ${late.length - accepted.length}/${late.length}, runs ${runs_}, effects ${effectCount}, ${outcome.reason}`);
      }
      const hostedByA = await a.call<string[]>('hosted');
      if (hostedByA.length > 0) problems.push(`A still hosts ${hostedByA.join(', ')} after losing its leases`);
      console.log(`[crash] lease takeover ${storeCase.name} (A stopped ${continuedAt - stoppedAt} ms, lease ${LEASE_MS} ms): ${summary.join(' | ')}`);
      await Promise.all([a.call('close'), b.call('close')]);
      await ledger.close();
      await store.close();
      expect(problems).toEqual([]);
    }, 120_000);
  }
});
