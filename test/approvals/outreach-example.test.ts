/** examples/outreach, run as the README says and through its function: approvals, edits, a rejection, an expiry, a shared send limit. */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { runOutreach } from '../../examples/outreach/index.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const dirs: string[] = [];
afterEach(async () => {
  while (dirs.length) await rm(dirs.pop()!, { recursive: true, force: true });
});

describe('examples/outreach', () => {
  it('every email waits for a human; approved, edited, rejected-then-redrafted and expired ones end as typed outcomes; sends keep the per-domain limit', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'reins-outreach-test-'));
    dirs.push(dir);
    const lines: string[] = [];
    const report = await runOutreach(dir, (l) => lines.push(l));
    const byName = Object.fromEntries(report.outcomes.map((o) => [o.prospect, o.outcome]));
    expect(byName.Ada).toMatchObject({ reason: 'COMPLETED', result: { to: 'ada@acme.example', subject: 'Acme and runaway agents' } });
    expect(byName.Grace).toMatchObject({ reason: 'COMPLETED', result: { subject: 'Grace, a question about your on-call tooling' } });
    expect(byName.Linus).toMatchObject({ reason: 'COMPLETED' });
    expect(byName.Alan).toMatchObject({ reason: 'ESCALATED', by: 'approval-timeout', pending: { tool: 'send_email' } });
    expect(Object.values(byName).filter((o) => o.reason === 'COMPLETED')).toHaveLength(5);

    // Five emails went out, once each; Alan's never did.
    expect(report.outbox.map((s) => s.to).sort()).toEqual(['ada@acme.example', 'barbara@acme.example', 'grace@acme.example', 'linus@acme.example', 'margaret@globex.example']);
    // At most 2 per second to acme.example: its four sends are paced 500 ms apart (within the scheduling jitter of a send).
    const acme = report.outbox.filter((s) => s.to.endsWith('@acme.example')).map((s) => s.at).sort((a, b) => a - b);
    for (let i = 1; i < acme.length; i++) expect(acme[i]! - acme[i - 1]!).toBeGreaterThanOrEqual(500 - 25);

    const statuses = report.decided.map((i) => `${i.runId}:${i.status}:${i.decision?.by}`).sort();
    expect(statuses).toEqual([
      'outreach-1-ada:approved:dana',
      'outreach-2-grace:approved:dana',
      'outreach-3-linus:approved:dana',
      'outreach-3-linus:rejected:dana',
      'outreach-4-barbara:approved:dana',
      'outreach-5-alan:expired:reins',
      'outreach-6-margaret:approved:dana',
    ]);
    expect(report.decided.find((i) => i.runId === 'outreach-2-grace')?.decision?.editedArguments).toMatchObject({ subject: 'Grace, a question about your on-call tooling' });
    expect(lines.some((l) => l.includes('waits for the acme.example send limit'))).toBe(true);
  }, 30_000);

  it('runs with the command the README gives', () => {
    const dir = join(tmpdir(), `reins-outreach-cmd-${process.pid}`);
    dirs.push(dir);
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'examples/outreach/index.ts', '--dir', dir], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain('outcomes:');
    expect(result.stdout).toMatch(/Alan\s+ESCALATED/);
    expect(result.stdout.match(/COMPLETED/g)).toHaveLength(5);
  }, 40_000);
});
