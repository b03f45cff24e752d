import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Supervisor } from '../../agents/supervisor.js';
import { agents } from '../console/agents.js';
import { FileStore } from '../../persistence/file-store.js';
import { collect, spawnReins, waitForOutput } from './run-cli.js';
import { cliSuite, storelessSuite } from './suite.js';

cliSuite({
  name: 'FileStore',
  create: async () => {
    const dir = await mkdtemp(join(tmpdir(), 'reins-cli-'));
    return { store: dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
  },
});

storelessSuite();

describe('reins worker', () => {
  it('takes over a run its worker left behind, hosts it, and hands it back on SIGINT', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'reins-worker-'));
    let worker: ReturnType<typeof spawnReins> | undefined;
    try {
      let store = await FileStore.open(dir);
      const first = await Supervisor.open({ store, agents });
      // A crawler never ends by itself: whatever the machine's load, the run is still going when its worker leaves.
      await first.start('crawler', { runId: 'w1', input: 'Index every page.' });
      await first.close();
      await store.close();
      worker = spawnReins(['worker', '--store', dir, '--agents', 'test/console/agents.ts', '--recover-every', '200']);
      const done = collect(worker);
      await waitForOutput(worker, (out) => out.includes('took over w1 (crawler'), 45_000);
      store = new FileStore({ dir });
      const before = (await store.load('w1'))!.summary.step;
      await expect.poll(async () => (await store.load('w1'))!.summary.step, { timeout: 20_000 }).toBeGreaterThan(before + 2);
      expect((await store.readLease('w1'))!.owner).toMatch(/:/);
      worker.kill('SIGINT');
      const result = await done;
      expect(result.code).toBe(0);
      expect(result.stdout).toContain('stopping: handing 1 runs back to the store');
      expect((await store.load('w1'))!.summary.status).toBe('running');
      await store.close();
    } finally {
      // A failed expectation must not leave the worker running.
      if (worker && worker.exitCode === null && worker.signalCode === null) worker.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    }
  }, 90_000);
});
