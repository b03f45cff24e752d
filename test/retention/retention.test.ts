import { appendFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_RETENTION, sweepRetention, traceSampled, type RetentionReport } from '../../agents/retention.js';
import { Supervisor } from '../../agents/supervisor.js';
import { createMetrics } from '../../agents/telemetry/metrics.js';
import { CorruptRecordError } from '../../persistence/errors.js';
import { frame } from '../../persistence/file/log-frame.js';
import { encodeLine } from '../../persistence/file/log-line.js';
import { FileStore } from '../../persistence/file-store.js';
import { MemoryStore } from '../../persistence/memory-store.js';
import type { RunSummary } from '../../persistence/records.js';
import type { SnapshotStore } from '../../persistence/store.js';
import { recordOf } from '../persistence/conformance.js';
import { until } from '../support/tools.js';

const DAY = 86_400_000;
const NOW = 1_000 * DAY;

/** The first ids of the form `<prefix>-<n>` that the default healthy sample keeps (true) or leaves out (false). */
function idsSampled(prefix: string, sampled: boolean, count: number): string[] {
  const ids: string[] = [];
  for (let n = 0; ids.length < count; n++) if (traceSampled(`${prefix}-${n}`, DEFAULT_RETENTION.healthy.traceSample) === sampled) ids.push(`${prefix}-${n}`);
  return ids;
}

/** Stores a done run that ended `ageMs` before NOW with `reason`, and a two-entry trace. */
async function ended(store: SnapshotStore, runId: string, reason: string | null, ageMs: number, over: Partial<RunSummary> = {}): Promise<void> {
  await store.create(recordOf(runId, 1, { status: 'done', reason, updatedAt: NOW - ageMs, ...over }));
  await store.traceAppend(runId, [{ at: 1, kind: 'transition' }, { at: 2, kind: 'tool' }]);
}

async function ids(store: SnapshotStore): Promise<string[]> {
  return (await store.list()).map((s) => s.runId).sort();
}

async function traced(store: SnapshotStore, runIds: readonly string[]): Promise<Record<string, number>> {
  return Object.fromEntries(await Promise.all(runIds.map(async (id) => [id, (await store.traceRead(id)).length] as const)));
}

/** One fleet of every case, the same on every store. */
async function seed(store: SnapshotStore): Promise<{ sampled: string[]; unsampled: string[] }> {
  await ended(store, 'broken-31d', 'TOOL_FAILURE', 31 * DAY);
  await ended(store, 'broken-20d', 'LOOP_DETECTED', 20 * DAY);
  await ended(store, 'unknown-reason-20d', 'SOMETHING_NEW', 20 * DAY);
  await ended(store, 'exhausted-15d', 'BUDGET_EXCEEDED', 15 * DAY);
  await ended(store, 'exhausted-10d', 'TIMEOUT', 10 * DAY);
  await ended(store, 'healthy-4d', 'COMPLETED', 4 * DAY);
  const sampled = idsSampled('healthy-2d', true, 2);
  const unsampled = idsSampled('healthy-2d', false, 3);
  for (const id of [...sampled, ...unsampled]) await ended(store, id, 'COMPLETED', 2 * DAY);
  await ended(store, 'healthy-fresh', 'COMPLETED', 60_000);
  // Not retention's to touch, however old: a run still going, and a quarantined run.
  await store.create(recordOf('running-40d', 1, { status: 'running', updatedAt: NOW - 40 * DAY }));
  await ended(store, 'quarantined-40d', 'COMPLETED', 40 * DAY);
  return { sampled, unsampled };
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** The stores the sweep runs against (retention is one store call per run, so each store's own checks decide), and a way to quarantine a run as a read that finds its record unreadable does. */
const STORES: Record<string, () => Promise<{ store: SnapshotStore; quarantine: (runId: string) => Promise<void> }>> = {
  MemoryStore: async () => {
    const store = new MemoryStore();
    return {
      store,
      quarantine: async (id) => {
        store.corruptForTest(id, 'not json');
        await expect(store.load(id)).rejects.toBeInstanceOf(CorruptRecordError);
      },
    };
  },
  FileStore: async () => {
    const dir = await mkdtemp(join(tmpdir(), 'reins-retention-'));
    const store = await FileStore.open(dir);
    cleanups.push(async () => {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    });
    return {
      store,
      quarantine: async (id) => {
        await appendFile(join(dir, 'runs', id, 'run.log'), frame(encodeLine({ parts: {}, record: { text: 'not json', envelope: null } })));
        await expect(store.load(id)).rejects.toBeInstanceOf(CorruptRecordError);
      },
    };
  },
};

describe.each(Object.keys(STORES))('retention by outcome on %s', (name) => {
  it('keeps broken runs 30 days and exhausted 14 with every trace, healthy 3 with a sampled tenth of traces; never a live or quarantined run', async () => {
    const { store, quarantine } = await STORES[name]!();
    const { sampled, unsampled } = await seed(store);
    await quarantine('quarantined-40d');
    const all = await ids(store);

    const dry = await sweepRetention(store, { now: NOW, dryRun: true });
    // A dry run changes nothing.
    expect(await ids(store)).toEqual(all);
    expect(Object.values(await traced(store, unsampled))).toEqual([2, 2, 2]);

    const applied = await sweepRetention(store, { now: NOW });
    expect({ ...applied, dryRun: true }).toEqual(dry);
    expect(applied.groups).toEqual({
      broken: { runs: 3, runsDeleted: 1, runsKept: 2, tracesDropped: 0, tracesKept: 2 },
      exhausted: { runs: 2, runsDeleted: 1, runsKept: 1, tracesDropped: 0, tracesKept: 1 },
      healthy: { runs: 7, runsDeleted: 1, runsKept: 6, tracesDropped: 3, tracesKept: 3 },
    });
    expect(applied).toMatchObject({ quarantined: 1, live: 1 });
    expect(await ids(store)).toEqual(all.filter((id) => !['broken-31d', 'exhausted-15d', 'healthy-4d'].includes(id)));
    expect(await traced(store, ['broken-20d', 'unknown-reason-20d', 'exhausted-10d', 'healthy-fresh', ...sampled, ...unsampled, 'running-40d'])).toEqual({
      'broken-20d': 2,
      'unknown-reason-20d': 2,
      'exhausted-10d': 2,
      'healthy-fresh': 2,
      ...Object.fromEntries(sampled.map((id) => [id, 2])),
      // The record stays; only the trace goes.
      ...Object.fromEntries(unsampled.map((id) => [id, 0])),
      'running-40d': 0,
    });
    for (const id of unsampled) expect(await store.load(id)).toMatchObject({ summary: { status: 'done', reason: 'COMPLETED' } });
    expect((await store.list({ status: 'quarantined' })).map((s) => s.runId)).toEqual(['quarantined-40d']);

    // A second sweep finds nothing more to drop: dropped traces are not counted again.
    const again = await sweepRetention(store, { now: NOW });
    expect(again.groups.healthy).toEqual({ runs: 6, runsDeleted: 0, runsKept: 6, tracesDropped: 0, tracesKept: 3 });
  });
});

describe('retention of run trees', () => {
  it('keeps a tree as long as its most severe member says, deletes it whole, and leaves a tree with a live run alone', async () => {
    const store = new MemoryStore();
    // A broken pipeline with a healthy stage: the stage explains the failure and stays as long as it does.
    await ended(store, 'pipe', 'TOOL_FAILURE', 20 * DAY);
    await ended(store, 'pipe-stage', 'COMPLETED', 25 * DAY, { parentId: 'pipe' });
    // A healthy tree, old enough to go, with a grandchild.
    await ended(store, 'tree', 'COMPLETED', 5 * DAY);
    await ended(store, 'tree-child', 'COMPLETED', 6 * DAY, { parentId: 'tree' });
    await ended(store, 'tree-grandchild', 'ESCALATED', 6 * DAY, { parentId: 'tree-child' });
    // A parent still running re-attaches to its done children when restored: they stay, whatever their age.
    await store.create(recordOf('live-parent', 1, { status: 'paused', updatedAt: NOW - 60 * DAY }));
    await ended(store, 'live-child', 'TOOL_FAILURE', 60 * DAY, { parentId: 'live-parent' });

    const report = await sweepRetention(store, { now: NOW });
    expect(await ids(store)).toEqual(['live-child', 'live-parent', 'pipe', 'pipe-stage']);
    expect(report.groups.broken).toEqual({ runs: 2, runsDeleted: 0, runsKept: 2, tracesDropped: 0, tracesKept: 2 });
    expect(report.groups.healthy).toMatchObject({ runs: 3, runsDeleted: 3, runsKept: 0 });
    expect(report.live).toBe(2);
  });

  it('samples traces by a hash of the root run id: the same answer every time, about the share asked for', () => {
    const runIds = Array.from({ length: 10_000 }, (_, i) => `run-${i}`);
    const kept = runIds.filter((id) => traceSampled(id, 0.1));
    expect(runIds.filter((id) => traceSampled(id, 0.1))).toEqual(kept);
    expect(kept.length).toBeGreaterThan(900);
    expect(kept.length).toBeLessThan(1_100);
    expect(runIds.every((id) => traceSampled(id, 1))).toBe(true);
    expect(runIds.some((id) => traceSampled(id, 0))).toBe(false);
    // A larger share keeps a superset: raising the rate never drops a trace an earlier rate kept.
    expect(kept.every((id) => traceSampled(id, 0.5))).toBe(true);
  });
});

describe('retention on the Supervisor, with metrics', () => {
  it('sweeps on its schedule, tells observers, and Prometheus counts what was kept and dropped (dry runs not counted)', async () => {
    const store = new MemoryStore();
    const now = Date.now();
    await store.create(recordOf('old-broken', 1, { status: 'done', reason: 'TOOL_FAILURE', updatedAt: now - 31 * DAY }));
    await store.create(recordOf('new-broken', 1, { status: 'done', reason: 'TOOL_FAILURE', updatedAt: now - DAY }));
    const metrics = createMetrics();
    const reports: RetentionReport[] = [];
    const supervisor = await Supervisor.open({
      store,
      agents: [],
      observers: [metrics.observer, { onRetention: (r) => reports.push(r) }],
      retention: { everyMs: 20 },
    });
    try {
      await until(() => reports.length >= 1, 10_000);
    } finally {
      await supervisor.close();
    }
    expect(reports[0]!.groups.broken).toEqual({ runs: 2, runsDeleted: 1, runsKept: 1, tracesDropped: 0, tracesKept: 1 });
    expect(await ids(store)).toEqual(['new-broken']);
    const text = await metrics.render();
    expect(text).toContain(`reins_retention_runs_total{group="broken",action="deleted"} 1`);
    expect(text).toMatch(new RegExp(`reins_retention_runs_total\\{group="broken",action="kept"\\} ${reports.length}\\b`));

    const dryOnly = createMetrics();
    dryOnly.observer.onRetention!(await sweepRetention(store, { dryRun: true }));
    expect(await dryOnly.render()).not.toContain('reins_retention_runs_total{');
  });
});
