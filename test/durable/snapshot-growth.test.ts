import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineAgent, scriptedModel, tool } from '../../index.js';
import { Supervisor } from '../../agents/supervisor.js';
import type { SnapshotStore } from '../../persistence/store.js';
import { STORE_CASES } from './stores.js';

/** Counts the bytes each store write carries, per method. */
function metered(store: SnapshotStore) {
  const bytes = { save: 0, other: 0 };
  let lastSave = 0;
  const proxy = new Proxy(store, {
    get(target, prop) {
      const value = Reflect.get(target, prop) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (prop === 'save') lastSave = JSON.stringify(args[0]).length;
        if (['save', 'traceAppend', 'transcriptAppend', 'journalStart', 'journalDone'].includes(String(prop))) {
          bytes[prop === 'save' ? 'save' : 'other'] += JSON.stringify(args.slice(1)).length + (prop === 'save' ? lastSave : 0);
        }
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store: proxy, bytes, lastSave: () => lastSave };
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
          const total = m.bytes.save + m.bytes.other;
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
