/** The catalogue story as scenario tests: each stage's agent scripted on its own, the pipeline as it is. */
import { describe, expect, it } from 'vitest';
import '../../testing/vitest.js';
import { catalogue, MAX_REFINES } from '../../examples/catalogue/pipeline.js';
import { mockTool, scenario } from '../../testing/index.js';

const brief = { product: 'Trail shoe', shots: ['hero'] };
/** The checker's scores in turn; each verdict names the render it scored, as the checker's answer (a QcVerdict) must. */
const scores =
  (...s: number[]) =>
  ({ input, n }: { input: unknown; n: number }) => {
    const score = s[n - 1];
    if (score === undefined) return { fatal: `no score ${n} scripted` };
    return { returns: { ...(input as { shot: string; image: string; version: number }), score, notes: score >= 80 ? 'on brand' : 'soft edges' } };
  };

describe('catalogue, as scenarios', () => {
  it('a quality score below 80 regenerates', async () => {
    const run = await scenario(catalogue, { input: brief, agents: { checker: { tools: [mockTool('score_image', scores(72, 86))] } } });
    expect(run).toEndWith('COMPLETED');
    expect(run).toHaveCalled('score_image', 2);
    expect(run).toHaveCalled('retouch', 1);
    expect(run).toHaveCalledBefore('retouch', 'publish');
    expect(run).toHaveCalled('publish', 1);
    expect(run.callsTo('publish')[0]!.input).toMatchObject({ shots: [{ shot: 'hero', score: 86 }] });
  });

  it('after max retries it escalates and never publishes', async () => {
    const run = await scenario(catalogue, { input: brief, agents: { checker: { tools: [mockTool('score_image', scores(40, 50, 60, 70))] } } });
    expect(run).toEndWith('ESCALATED', { by: 'pipeline', stage: 'qc' });
    expect(run).toHaveCalled('retouch', MAX_REFINES);
    expect(run).toHaveCalled('score_image', MAX_REFINES + 1);
    expect(run).not.toHaveCalled('publish');
  });
});
