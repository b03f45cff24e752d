/** Recorded runs: a stored run becomes a fixture (fromRecorded, `reins record`), replayed against the agent as it is now. */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import '../../testing/vitest.js';
import { defineAgent, scriptedModel, tool } from '../../index.js';
import { FileStore } from '../../persistence/file-store.js';
import { MemoryStore } from '../../persistence/memory-store.js';
import { fromRecorded, mockTool, scenario, type RecordedRun } from '../../testing/index.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const dirs: string[] = [];
afterEach(async () => {
  while (dirs.length) await rm(dirs.pop()!, { recursive: true, force: true });
});

function writer(options: { draftInput?: z.ZodType; publishAttempts?: number } = {}) {
  return defineAgent({
    id: 'writer',
    goal: 'Write and publish one post',
    model: scriptedModel([{ call: 'draft', args: { topic: 'reins' } }, { call: 'publish', args: { text: 'about reins' } }, { answer: 'published' }]),
    progress: false,
    tools: [
      tool({ name: 'draft', description: 'drafts', input: options.draftInput ?? z.object({ topic: z.string() }), sideEffect: 'none', run: () => ({ text: 'about reins' }) }),
      tool({ name: 'publish', description: 'publishes', input: z.object({ text: z.string() }), sideEffect: 'idempotent', retry: { maxAttempts: options.publishAttempts ?? 3, baseDelayMs: 1_000 }, run: () => ({ id: 'p1' }) }),
    ],
  });
}

/** An "incident": the run as it happened in production, stored. */
async function incident(store: MemoryStore | FileStore) {
  return scenario(writer(), { store, runId: 'incident-1', tools: [mockTool('publish', [{ retryable: 'provider 503' }, { returns: { id: 'p-42' } }])] });
}

describe('recorded runs', () => {
  it('a stored run becomes a fixture that replays exactly against the same agent', async () => {
    const store = new MemoryStore();
    const original = await incident(store);
    const fixture: RecordedRun = JSON.parse(JSON.stringify(await fromRecorded(store, original.runId)));
    expect(fixture.runs['incident-1']!.tools.map((t) => [t.tool, t.answer])).toEqual([
      ['draft', { returns: { text: 'about reins' } }],
      ['publish', { retryable: 'provider 503' }],
      ['publish', { returns: { id: 'p-42' } }],
    ]);
    const replay = await scenario(writer(), { recorded: fixture });
    expect(replay.divergence).toBeNull();
    expect(replay).toEndWith('COMPLETED', { result: 'published' });
    expect(replay.calls.map((c) => [c.tool, c.attempt, c.outcome])).toEqual(original.calls.map((c) => [c.tool, c.attempt, c.outcome]));
  });

  it('replayed against a changed agent, it reports the first call that diverges', async () => {
    const store = new MemoryStore();
    await incident(store);
    const fixture = await fromRecorded(store, 'incident-1');
    // draft now fills in a default: its first call has another input than the recording's.
    const changedInput = await scenario(writer({ draftInput: z.object({ topic: z.string(), tone: z.string().default('plain') }) }), { recorded: fixture });
    expect(changedInput.divergence).toMatchObject({ at: 'tool', index: 1, expected: { tool: 'draft', input: { topic: 'reins' } }, actual: { tool: 'draft', input: { topic: 'reins', tone: 'plain' } } });
    // publish no longer retries: the recorded 503 now ends the run.
    const noRetry = await scenario(writer({ publishAttempts: 1 }), { recorded: fixture });
    expect(noRetry).toEndWith('RETRY_LIMIT_REACHED');
    expect(noRetry.divergence).toMatchObject({ at: 'outcome', expected: 'COMPLETED', actual: 'RETRY_LIMIT_REACHED' });
  });

  it('`reins record <run>` prints the fixture of a run in a store folder', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'reins-record-'));
    dirs.push(dir);
    const store = await FileStore.open(dir);
    await incident(store);
    await store.close();
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'cli/main.ts', 'record', 'incident-1', '--store', dir], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    expect(result.status, result.stderr).toBe(0);
    const fixture = JSON.parse(result.stdout) as RecordedRun;
    expect(fixture).toMatchObject({ fixture: 'reins.recorded-run', runId: 'incident-1', agentId: 'writer', outcome: { reason: 'COMPLETED' } });
    expect((await scenario(writer(), { recorded: fixture })).divergence).toBeNull();
    const missing = spawnSync(process.execPath, ['--import', 'tsx', 'cli/main.ts', 'record', 'no-such-run', '--store', dir], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    expect(missing.status).not.toBe(0);
    expect(missing.stderr).toContain('no-such-run');
  }, 90_000);
});
