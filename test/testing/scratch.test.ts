import { expect, it } from 'vitest';
import { catalogue } from '../../examples/catalogue/pipeline.js';
import { mockTool, scenario } from '../../testing/index.js';

it('scratch', async () => {
  const t0 = Date.now();
  const r = await scenario(catalogue, {
    input: { product: 'Trail shoe', shots: ['hero'] },
    agents: {
      checker: { tools: [mockTool('score_image', [{ returns: { score: 72, notes: 'flat' } }, { returns: { score: 86, notes: 'ok' } }])] },
    },
  });
  console.log(Date.now() - t0, r.outcome.reason, r.elapsedMs, r.calls.map((c) => `${c.tool}:${c.attempt}:${c.idempotencyKey}`));
  console.log(r.children.map((c) => `${c.runId} ${c.outcome?.reason}`));
  console.log(JSON.stringify(r.transcript).slice(0, 1500));
  console.log(JSON.stringify(r.trace.slice(0, 8)));
});
