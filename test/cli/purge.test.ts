import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { traceSampled, type RetentionReport } from '../../agents/retention.js';
import { FileStore } from '../../persistence/file-store.js';
import { recordOf } from '../persistence/conformance.js';
import { reins } from './run-cli.js';

const DAY = 86_400_000;

describe('reins purge', () => {
  let dir: string;
  const sampled = Array.from({ length: 200 }, (_, i) => `ok-${i}`).find((id) => traceSampled(id, 0.1))!;
  const unsampled = Array.from({ length: 200 }, (_, i) => `ok-${i}`).find((id) => !traceSampled(id, 0.1))!;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'reins-purge-'));
    const store = await FileStore.open(dir);
    const now = Date.now();
    const ended = async (runId: string, reason: string, ageMs: number) => {
      await store.create(recordOf(runId, 1, { status: 'done', reason, updatedAt: now - ageMs }));
      await store.traceAppend(runId, [{ at: 1, kind: 'transition' }]);
    };
    await ended('broken-old', 'ACTION_IN_DOUBT', 40 * DAY);
    await ended('broken-new', 'ACTION_IN_DOUBT', 10 * DAY);
    await ended('exhausted-old', 'TIMEOUT', 20 * DAY);
    await ended('healthy-old', 'COMPLETED', 5 * DAY);
    await ended(sampled, 'COMPLETED', DAY);
    await ended(unsampled, 'COMPLETED', DAY);
    await store.create(recordOf('running', 1, { updatedAt: now - 90 * DAY }));
    await store.close();
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('is a dry run by default: prints the counts per group and deletes nothing', async () => {
    const result = await reins(['purge', '--store', dir]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines[0]).toMatch(/^dry run in FileStore .*: nothing deleted \(--apply to delete\)$/);
    expect(lines.find((l) => l.startsWith('broken'))).toMatch(/^broken\s+2\s+1\s+1\s+0\s+1\s+30d, every trace$/);
    expect(lines.find((l) => l.startsWith('exhausted'))).toMatch(/^exhausted\s+1\s+1\s+0\s+0\s+0\s+14d, every trace$/);
    expect(lines.find((l) => l.startsWith('healthy'))).toMatch(/^healthy\s+3\s+1\s+2\s+1\s+1\s+3d, traces of 10% \(all for 1h\)$/);
    expect(result.stdout).toContain('live 1');
    const store = new FileStore({ dir });
    expect((await store.list()).length).toBe(7);
    expect(await store.traceRead(unsampled)).toHaveLength(1);
    await store.close();
  });

  it('--apply deletes and drops what the dry run counted; --json reports it with the policy', async () => {
    const result = await reins(['purge', '--store', dir, '--apply', '--json']);
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as RetentionReport & { policy: unknown };
    expect(report.dryRun).toBe(false);
    expect(report.groups).toEqual({
      healthy: { runs: 3, runsDeleted: 1, runsKept: 2, tracesDropped: 1, tracesKept: 1 },
      exhausted: { runs: 1, runsDeleted: 1, runsKept: 0, tracesDropped: 0, tracesKept: 0 },
      broken: { runs: 2, runsDeleted: 1, runsKept: 1, tracesDropped: 0, tracesKept: 1 },
    });
    const store = new FileStore({ dir });
    expect((await store.list()).map((s) => s.runId).sort()).toEqual(['broken-new', sampled, unsampled, 'running'].sort());
    expect(await store.traceRead(unsampled)).toEqual([]);
    expect(await store.traceRead(sampled)).toHaveLength(1);
    expect(await store.load(unsampled)).toMatchObject({ summary: { reason: 'COMPLETED' } });
    await store.close();
  });

  it('takes spans and shares per group, and refuses a bad one in one line with the usage exit code', async () => {
    const spans = await reins(['purge', '--store', dir, '--broken', '1d', '--healthy-traces', '0%']);
    expect(spans.code).toBe(0);
    expect(spans.stdout).toMatch(/\nbroken\s+1\s+1\s+0\s+0\s+0\s+1d, every trace\n/);
    expect(spans.stdout).toMatch(/\nhealthy\s+2\s+0\s+2\s+1\s+0\s+3d, traces of 0% \(all for 1h\)\n/);
    const bad = await reins(['purge', '--store', dir, '--healthy-traces', '2']);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/^reins: .*--healthy-traces.*expected a share between 0 and 1/);
  });
});
