/**
 * `reins migrate`, as a child process on a FileStore: --dry-run lists what
 * the loaded definitions would migrate and refuse and changes nothing;
 * without it each run is migrated under its lease (one a live worker holds
 * is left alone), and a worker with no migration of its own then resumes the
 * migrated runs.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AGENT_MACHINE_ID, CHART_VERSIONS } from '../../machines/migrations/index.js';
import { FileStore } from '../../persistence/file-store.js';
import { fixtureKit } from '../fixtures/agents.js';
import { driveStored } from '../fixtures/drive.js';
import { loadPortable, PortableFixture } from '../fixtures/format.js';
import { restScenario } from '../fixtures/rest.js';
import { runIdOf, SCENARIOS } from '../fixtures/scenarios.js';
import { leaseExpired } from '../support/tools.js';
import { reins } from './run-cli.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

const AGENTS = 'test/versions/agents-v3.ts';
const scenario = (name: string) => SCENARIOS.find((s) => s.name === name)!;

/** A folder with two runs stored at version 2 and one stored by the release before chart versions. */
async function storedRuns(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'reins-migrate-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const store = new FileStore({ dir });
  for (const name of ['planning', 'awaiting-approval']) {
    const stop = await restScenario(scenario(name), fixtureKit('capture', { version: '2' }), store);
    await stop();
    await leaseExpired(store, runIdOf(scenario(name)));
  }
  const legacy = PortableFixture.parse(JSON.parse(await readFile(new URL('../fixtures/chart-v1/portable/paused.json', import.meta.url), 'utf8')));
  await loadPortable(store, legacy);
  await store.close();
  return dir;
}

describe('reins migrate', () => {
  it('--dry-run lists the runs to migrate and to refuse, exits 1 while any would be refused, and changes nothing', async () => {
    const dir = await storedRuns();
    const store = new FileStore({ dir });
    cleanups.push(() => store.close());
    const before = await Promise.all(['fx-planning', 'fx-awaiting-approval', 'fx-paused'].map((id) => store.load(id)));
    const result = await reins(['migrate', '--dry-run', '--store', dir, '--agents', AGENTS]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(1);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines.find((l) => l.startsWith('fx-planning '))).toContain('migrates: migrate fx-planner from version 2 to 3');
    expect(lines.find((l) => l.startsWith('fx-awaiting-approval '))).toContain('migrates: migrate fx-approver from version 2 to 3');
    expect(lines.find((l) => l.startsWith('fx-paused '))).toMatch(/REFUSED: run fx-paused was stored by fx-pausable version [0-9a-f]{16}; this process has version 3/);
    expect(lines.at(-1)).toBe('3 runs in flight: 0 current, 2 would migrate, 1 would be refused');
    const json = await reins(['migrate', '--dry-run', '--json', '--store', dir, '--agents', AGENTS]);
    expect((JSON.parse(json.stdout) as Array<{ runId: string; verdict: string }>).map((i) => [i.runId, i.verdict]).sort()).toEqual([
      ['fx-awaiting-approval', 'migrate'],
      ['fx-paused', 'refused'],
      ['fx-planning', 'migrate'],
    ]);
    expect(await Promise.all(['fx-planning', 'fx-awaiting-approval', 'fx-paused'].map((id) => store.load(id)))).toEqual(before);
  }, 60_000);

  it('migrates each run under its lease, leaves a run a live worker holds alone, and the migrated runs resume without a migration', async () => {
    const dir = await storedRuns();
    const store = new FileStore({ dir });
    cleanups.push(() => store.close());
    // A live worker holds the waiting run: migrate must not write under it.
    const held = await store.acquireLease('fx-awaiting-approval', 'live-worker', 60_000);
    const before = await store.load('fx-planning');
    const result = await reins(['migrate', '--store', dir, '--agents', AGENTS]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('migrated  fx-planning');
    expect(result.stdout).toContain('left alone (a live worker holds it)  fx-awaiting-approval');
    expect(result.stdout.trimEnd().split('\n').at(-1)).toBe('migrated 1 of 3 runs in flight; 1 refused');

    const after = await store.load('fx-planning');
    expect(after?.version).toBe(before!.version + 1);
    expect(after?.machine).toEqual({ id: 'reins.agent', version: '3', chart: CHART_VERSIONS[AGENT_MACHINE_ID], tools: ['lookup'] });
    expect((after?.snapshot as { context: { goal: string } }).context.goal).toBe('look up a (v3)');
    expect((await store.traceRead('fx-planning')).filter((e) => e.kind === 'upgrade')).toHaveLength(1);
    expect((await store.load('fx-awaiting-approval'))?.machine.version).toBe('2');
    await store.releaseLease('fx-awaiting-approval', held!);

    // Version 3 without any migration now hosts the migrated run: it is stored at 3.
    const { outcome, calls } = await driveStored(store, scenario('planning'), fixtureKit('resume', { version: '3' }), cleanups);
    expect(outcome).toMatchObject(scenario('planning').outcome);
    expect(calls).toEqual(scenario('planning').calls);
  }, 60_000);
});
