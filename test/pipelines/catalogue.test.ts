import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { main } from '../../examples/catalogue/index.js';
import { MAX_REFINES } from '../../examples/catalogue/pipeline.js';
import { onCleanup } from './support.js';

async function tempStore(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'reins-catalogue-'));
  onCleanup(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

describe('the catalogue example', () => {
  it('plans, renders in parallel, refines below-80 shots at most 3 times, publishes only passing shots, escalates the rest', async () => {
    const lines: string[] = [];
    const { outcome, children } = await main(['--store', await tempStore()], (l) => lines.push(l));
    const runId = outcome.runId;
    // The pipeline's outcome names the stage and the child run that decided it.
    expect(outcome).toMatchObject({ reason: 'ESCALATED', by: 'pipeline', agentId: 'catalogue', stage: 'qc', childRunId: `${runId}.qc.0.4` });
    expect((outcome as { why: string }).why).toContain('sole still scores 74 after 3 refine rounds');
    expect((outcome as { why: string }).why).toContain('lifestyle was not rendered (TOOL_FAILURE: GPU quota exceeded');
    const byId = new Map(children.map((c) => [c.runId, c]));
    expect(children).toHaveLength(17);
    expect(byId.get(`${runId}.generate.3`)).toMatchObject({ key: 'lifestyle', outcome: { reason: 'TOOL_FAILURE', tool: 'render' } });
    // Refines: side once, sole three times, never a fourth.
    const refines = children.filter((c) => c.agentId === 'refiner');
    expect(refines.map((c) => c.key).sort()).toEqual(['side', 'sole', 'sole', 'sole']);
    expect(refines.length).toBeLessThanOrEqual(2 * MAX_REFINES);
    const publish = byId.get(`${runId}.publish.0`)!;
    expect(publish.outcome).toMatchObject({ reason: 'COMPLETED', result: { published: ['hero', 'side'] } });
    for (const c of children) expect(c.outcome.runId).toBe(c.runId);
    // Typed outcomes printed for the pipeline and every child.
    expect(lines.some((l) => l.startsWith(`pipeline ${runId}: ESCALATED (stage qc, child ${runId}.qc.0.4)`))).toBe(true);
    for (const c of children) expect(lines.some((l) => l.includes(c.runId) && l.includes(c.outcome.reason))).toBe(true);
  });

  it('runs with the command the README gives', async () => {
    const store = await tempStore();
    const { stdout } = await promisify(execFile)(join('node_modules', '.bin', 'tsx'), ['examples/catalogue/index.ts', '--store', store], { timeout: 60_000 });
    expect(stdout).toMatch(/^pipeline catalogue-[a-z0-9]+: ESCALATED \(stage qc, child catalogue-[a-z0-9]+\.qc\.0\.4\)$/m);
    expect(stdout).toMatch(/publish\.0\s+publisher\s+publish\s+COMPLETED/);
  }, 60_000);
});
