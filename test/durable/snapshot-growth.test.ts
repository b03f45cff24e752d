import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineAgent, scriptedModel, tool } from '../../index.js';
import { Supervisor } from '../../agents/supervisor.js';
import type { RunCommit, SnapshotStore } from '../../persistence/store.js';
import { STORE_CASES } from './stores.js';

/** Counts the bytes the store writes carry (a run's commits, and any direct write), and the size of the last record. */
function metered(store: SnapshotStore) {
  let bytes = 0;
  let lastSave = 0;
  const writes = new Set(['commit', 'save', 'traceAppend', 'transcriptAppend', 'journalStart', 'journalDone']);
  const proxy = new Proxy(store, {
    get(target, prop) {
      const value = Reflect.get(target, prop) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const record = prop === 'save' ? args[0] : prop === 'commit' ? (args[0] as RunCommit).record : null;
        if (record) lastSave = JSON.stringify(record).length;
        if (writes.has(String(prop))) bytes += JSON.stringify(args).length;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store: proxy, bytes: () => bytes, lastSave: () => lastSave };
}

for (const storeCase of STORE_CASES) {
  describe(`snapshots stay small on ${storeCase.name}`, () => {
    it('bytes written per turn do not grow with the run (10, 100, 1,000 turns)', async () => {
      const { open, cleanup } = await storeCase.create();
      const m = metered(await open());
      const echo = tool({ name: 'echo', description: 'e', input: z.object({ i: z.number() }), sideEffect: 'none', run: ({ i }) => ({ i, note: `result ${i}` }) });
      const turns = 1_000;
      const agent = defineAgent({
        id: 'long',
        goal: 'a long run',
        model: scriptedModel(({ turn }) => (turn <= turns ? { call: 'echo', args: { i: turn } } : { answer: 'done' })),
        tools: [echo],
        progress: false,
      });
      const sup = await Supervisor.open({ store: m.store, agents: [agent], workerId: 'growth' });
      const samples = new Map<number, { record: number; perTurn: number }>();
      let before = { turn: 0, total: 0 };
      const run = await sup.start('long', { runId: `growth-${storeCase.name}` });
      run.onStatus((s) => {
        if ([10, 100, 1_000].includes(s.turns) && s.state === 'planning' && !samples.has(s.turns)) {
          const total = m.bytes();
          samples.set(s.turns, { record: m.lastSave(), perTurn: (total - before.total) / (s.turns - before.turn) });
          before = { turn: s.turns, total };
        }
      });
      expect((await run.outcome).reason).toBe('COMPLETED');
      await sup.close();
      await cleanup();
      const at = (n: number) => samples.get(n)!;
      console.log(
        `[growth ${storeCase.name}] record bytes at 10/100/1000 turns: ${at(10).record}/${at(100).record}/${at(1_000).record}; ` +
          `bytes written per turn: ${at(10).perTurn.toFixed(0)}/${at(100).perTurn.toFixed(0)}/${at(1_000).perTurn.toFixed(0)}`,
      );
      // Below 24 actions the loop window is still filling; from there on the record is flat.
      expect(at(1_000).record / at(100).record).toBeLessThan(1.2);
      expect(at(1_000).perTurn / at(100).perTurn).toBeLessThan(1.2);
    }, 180_000);
  });
}
