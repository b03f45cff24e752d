/**
 * An agent's migration tested by exploration: every path of version 2 is crashed at each decision and restored under
 * version 3, so the migration meets a run stored in whatever state a crash leaves it in.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineAgent } from '../../agents/define-agent.js';
import { scriptedModel } from '../../agents/scripted-model.js';
import { tool } from '../../agents/tool.js';
import { explore } from '../../testing/index.js';

const lookup = tool({ name: 'lookup', description: 'Reads an order.', input: z.object({ id: z.string() }), sideEffect: 'none', run: ({ id }) => ({ id, status: 'shipped' }) });
const note = tool({ name: 'note', description: 'Adds a note to the order.', input: z.object({ text: z.string() }), sideEffect: 'idempotent', run: ({ text }) => ({ noted: text }) });
const model = scriptedModel([{ call: 'lookup', args: { id: 'A-1' } }, { call: 'note', args: { text: 'told the customer' } }, { answer: 'done' }]);
const options = { id: 'orders', goal: 'Answer about an order.', model, tools: [lookup, note] };
const faults = { model: ['script', 'crash'], tools: ['ok', 'crash'], approvals: [] } as const;

describe('a migration explored: version 2 crashed at every decision, restored as version 3', () => {
  it('with its migration, every path ends in its typed final state and the migration ran on each restore', async () => {
    let migrated = 0;
    const v2 = defineAgent({ ...options, version: '2' });
    const v3 = defineAgent({ ...options, version: '3', migrate: { from: '2', up: (snapshot) => (migrated++, snapshot) } });
    const report = await explore(v2, { upgradeTo: v3, faults, maxPaths: 40 });
    expect(report.format()).toContain('no invariant broken');
    expect(report.reached.COMPLETED).toBeDefined();
    // A crash before each of the two model calls after the first, each tool call, and the answer.
    expect(report.paths).toBeGreaterThanOrEqual(5);
    // Every path but the first (which takes every default) crashes once; each restore migrates the stored run.
    expect(migrated).toBe(report.paths - 1);
  }, 120_000);

  it('without one, the path that restores is reported: version 3 refuses the run version 2 stored', async () => {
    const v2 = defineAgent({ ...options, version: '2' });
    const v3 = defineAgent({ ...options, version: '3' });
    const report = await explore(v2, { upgradeTo: v3, faults, maxPaths: 40 });
    expect(report.ok).toBe(false);
    const failure = report.failures[0]!;
    expect(failure.path.map((c) => c.pick)).toEqual(['crash']);
    expect(failure.violations[0]!.message).toMatch(/^restored, the run was refused: AgentVersionError: .* version 2; this process has version 3/);
  }, 120_000);
});
