/**
 * reins' chart migrations: the steps from the stored chart version to this
 * release's are found in order or the gap is named; a run stored at an
 * older chart is migrated on rehydration (its timers re-armed from the
 * migrated due times) and stored back at the current chart; a run stored by
 * a newer chart is refused with ChartVersionError and left as it was.
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { agentDefinition } from '../../agents/run-definition.js';
import { Supervisor } from '../../agents/supervisor.js';
import { ChartVersionError } from '../../agents/version-errors.js';
import { AGENT_MACHINE_ID, CHART_MIGRATIONS, CHART_VERSIONS, chartPath, type ChartMigration } from '../../machines/migrations/index.js';
import { MemoryStore } from '../../persistence/memory-store.js';
import { fixtureKit } from '../fixtures/agents.js';
import { loadPortable, PortableFixture } from '../fixtures/format.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

const step = (from: number, up: ChartMigration['up'] = (s) => s): ChartMigration => ({ machineId: 'reins.agent', from, description: `step ${from}`, up });

describe('chart migration paths', () => {
  it('chains the steps from the stored version to the current one, in order', () => {
    const path = chartPath([step(2), step(1), { ...step(1), machineId: 'reins.pipeline' }, step(3)], 'reins.agent', 1, 3);
    expect(path.ok && path.steps.map((s) => [s.machineId, s.from])).toEqual([
      ['reins.agent', 1],
      ['reins.agent', 2],
    ]);
    expect(chartPath([], 'reins.agent', 2, 2)).toEqual({ ok: true, steps: [] });
  });

  it('names the missing step, or a stored version newer than this release', () => {
    expect(chartPath([step(1), step(3)], 'reins.agent', 1, 4)).toEqual({ ok: false, gap: { kind: 'missing-step', stored: 1, current: 4, missingFrom: 2 } });
    expect(chartPath([step(1)], 'reins.agent', 3, 2)).toEqual({ ok: false, gap: { kind: 'newer', stored: 3, current: 2 } });
  });
});

/** The backing-off run as the first chart version stored it. */
function backingOffFixture(): PortableFixture {
  const path = new URL('../fixtures/chart-v1/portable/backing-off.json', import.meta.url);
  return PortableFixture.parse(JSON.parse(readFileSync(path, 'utf8')));
}

describe('a chart upgrade on rehydration', () => {
  it('migrates a chart v1 run through the steps of this release and of the next chart as it is taken over: the retry waits for the migrated due time, and the run is stored at the next chart', async () => {
    const store = new MemoryStore();
    await loadPortable(store, backingOffFixture());
    const kit = fixtureKit('resume');
    const flaky = kit.agents.find((a) => a.id === 'fx-flaky')!;
    const def = agentDefinition(flaky);
    let dueAt = 0;
    // A stand-in for the next chart: its step from this release's chart moves the retry's due time later.
    const current = CHART_VERSIONS[AGENT_MACHINE_ID]!;
    const moveRetry = step(current, (s) => {
      dueAt = Date.now() + 400;
      return { ...s, context: { ...s.context, retryAt: dueAt } };
    });
    const nextRelease = { definition: { ...def, versioning: { ...def.versioning, chart: current + 1, chartMigrations: [...CHART_MIGRATIONS, moveRetry] } } };
    const sup = await Supervisor.open({ store, agents: [nextRelease], workerId: 'chart-v2' });
    cleanups.push(() => sup.close({ timeoutMs: 1_000 }));
    const [run] = await sup.recoverRuns();
    const outcome = await run!.outcome;
    expect((await store.load('fx-backing-off'))?.machine).toMatchObject({ chart: current + 1, version: def.version, tools: ['flaky'] });
    expect(outcome).toMatchObject({ reason: 'COMPLETED', result: 'stored' });
    expect(kit.calls.get('flaky')).toBe(1);
    expect(outcome.endedAt).toBeGreaterThanOrEqual(dueAt);
    const trace = await store.traceRead('fx-backing-off', 1_000);
    const upgrades = trace.filter((e) => e.kind === 'upgrade').map((e) => e['steps'] as string[]);
    expect(upgrades).toHaveLength(1);
    expect(upgrades[0]!.filter((s) => s.startsWith('chart reins.agent'))).toEqual([
      ...CHART_MIGRATIONS.filter((m) => m.machineId === AGENT_MACHINE_ID).map((m) => `chart reins.agent v${m.from} to v${m.from + 1}: ${m.description}`),
      `chart reins.agent v${current} to v${current + 1}: step ${current}`,
    ]);
    expect(upgrades[0]!.at(-1)).toContain('the same definition, stored before chart versions');
  });

  it('refuses a run stored by a newer chart with ChartVersionError naming both versions, and leaves it as it was', async () => {
    const store = new MemoryStore();
    const fixture = backingOffFixture();
    const [stored] = fixture.runs;
    await loadPortable(store, { ...fixture, runs: [{ ...stored!, record: { ...stored!.record, machine: { ...stored!.record.machine, chart: 7 } } }] });
    const before = await store.load('fx-backing-off');
    const kit = fixtureKit('resume');
    const sup = await Supervisor.open({ store, agents: kit.agents, workerId: 'older-release' });
    cleanups.push(() => sup.close({ timeoutMs: 1_000 }));
    const error = await sup.resumeRun('fx-backing-off').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChartVersionError);
    expect(error).toMatchObject({ stored: 7, current: CHART_VERSIONS[AGENT_MACHINE_ID] });
    expect((error as Error).message).toContain('a newer reins stored it');
    await expect(sup.pause('fx-backing-off', 'operator', 'x')).rejects.toBeInstanceOf(ChartVersionError);
    expect(await store.load('fx-backing-off')).toEqual(before);
    expect(kit.calls.size).toBe(0);
  });
});
