/**
 * An agent's own versions: a run stored at version 2 in each resting state
 * resumes at version 3 through its declared migration and ends in its exact
 * typed outcome; without a migration it is refused with a typed error; with
 * computed versions, tools added resume and tools removed are refused.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Supervisor } from '../../agents/supervisor.js';
import { AgentVersionError } from '../../agents/version-errors.js';
import type { SnapshotStore } from '../../persistence/store.js';
import { STORE_CASES } from '../durable/stores.js';
import { leaseExpired } from '../support/tools.js';
import { fixtureKit, type Calls, type FixtureVariant } from '../fixtures/agents.js';
import { driveStored } from '../fixtures/drive.js';
import { restScenario } from '../fixtures/rest.js';
import { runIdOf, SCENARIOS, type Scenario } from '../fixtures/scenarios.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** Version 3's migration from 2: counted per run, and it leaves a mark in the context the run keeps. */
const fromTwo = (calls: Calls) => ({
  from: '2',
  up: <S extends { context: { goal: string } }>(snapshot: S): S => {
    calls.set('migrate', (calls.get('migrate') ?? 0) + 1);
    return { ...snapshot, context: { ...snapshot.context, goal: `${snapshot.context.goal} (v3)` } };
  },
});

/** Stores the scenario's run with `stored` definitions and leaves it as a dead worker would; returns a fresh handle on the store. */
async function storedBy(storeCase: (typeof STORE_CASES)[number], scenario: Scenario, stored: FixtureVariant): Promise<SnapshotStore> {
  const { open, cleanup } = await storeCase.create();
  cleanups.push(cleanup);
  const base = await open();
  const stop = await restScenario(scenario, fixtureKit('capture', stored), base);
  await stop();
  for (const run of [...(await base.list({ status: 'running' })), ...(await base.list({ status: 'paused' }))]) await leaseExpired(base, run.runId);
  return open();
}

for (const storeCase of STORE_CASES) {
  describe(`agent versions on ${storeCase.name}`, () => {
    for (const scenario of SCENARIOS) {
      it(`${scenario.name}: stored at version 2, resumed at version 3 through its migration`, async () => {
        const store = await storedBy(storeCase, scenario, { version: '2' });
        const { outcome, calls } = await driveStored(store, scenario, fixtureKit('resume', { version: '3', migrate: fromTwo }), cleanups);
        expect(outcome).toMatchObject(scenario.outcome);
        // Exactly the run that was in flight was migrated (a pipeline's ended child is not; its next child starts at 3).
        expect(calls).toEqual({ ...scenario.calls, migrate: 1 });
        const record = await store.load(runIdOf(scenario));
        expect(record?.summary).toMatchObject({ status: 'done', reason: scenario.outcome['reason'] });
      }, 30_000);
    }

    it('a version 2 run is refused by version 3 without a migration, naming both versions, and left as it was', async () => {
      const scenario = SCENARIOS.find((s) => s.name === 'awaiting-approval')!;
      const store = await storedBy(storeCase, scenario, { version: '2' });
      const before = await store.load(runIdOf(scenario));
      const sup = await Supervisor.open({ store, agents: fixtureKit('resume', { version: '3' }).agents, workerId: 'v3' });
      cleanups.push(() => sup.close({ timeoutMs: 1_000 }));
      const error = await sup.resumeRun(runIdOf(scenario)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AgentVersionError);
      expect(error).toMatchObject({ stored: '2', current: '3' });
      expect((error as Error).message).toContain("migrate: { from: '2'");
      expect(await store.load(runIdOf(scenario))).toEqual(before);
      // The refusal let the lease go: a worker that hosts version 2 takes the run at once.
      expect((await store.readLease(runIdOf(scenario)))!.expiresAt).toBeLessThanOrEqual(Date.now());
      expect(await sup.recoverRuns()).toEqual([]);
    }, 30_000);

    it('computed versions: a run stored before a tool was added resumes; one stored before a tool was removed is refused', async () => {
      const scenario = SCENARIOS.find((s) => s.name === 'planning')!;
      const added = await storedBy(storeCase, scenario, {});
      const { outcome, calls } = await driveStored(added, scenario, fixtureKit('resume', { extraTool: true }), cleanups);
      expect(outcome).toMatchObject(scenario.outcome);
      expect(calls).toEqual(scenario.calls);

      const removed = await storedBy(storeCase, scenario, { extraTool: true });
      const sup = await Supervisor.open({ store: removed, agents: fixtureKit('resume').agents, workerId: 'fewer-tools' });
      cleanups.push(() => sup.close({ timeoutMs: 1_000 }));
      const error = await sup.resumeRun(runIdOf(scenario)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AgentVersionError);
      expect((error as Error).message).toContain('tools extra were removed');
    }, 30_000);
  });
}
