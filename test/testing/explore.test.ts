/** explore(): faults injected on every path of the examples' own agents and pipelines, checked against the run invariants. */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { agentOptionsOf, defineAgent } from '../../agents/define-agent.js';
import { definePipeline, pipelineOptionsOf } from '../../agents/pipeline.js';
import { tool, type ToolDefinition } from '../../agents/tool.js';
import { catalogue } from '../../examples/catalogue/pipeline.js';
import { support } from '../../examples/fleet/support.js';
import { explore } from '../../testing/index.js';

const twoShots = { product: 'Trail shoe', shots: ['hero', 'side'] };
const catalogueFaults = { model: ['script'], tools: ['ok', 'fatal'] } as const;

/** The catalogue with one route removed: publish no longer escalates the shots it left behind. */
function withoutLeftBehindRoute() {
  const options = pipelineOptionsOf(catalogue)!;
  const publish = options.stages.publish!;
  return definePipeline({ ...options, stages: { ...options.stages, publish: { ...publish, next: 'complete' } } });
}

describe('explore', () => {
  it('finds the child reason a pipeline with a route removed leaves unhandled, and prints the path', async () => {
    const report = await explore(withoutLeftBehindRoute(), { input: twoShots, faults: catalogueFaults, maxPaths: 20 });
    expect(report.ok).toBe(false);
    const failure = report.failures[0]!;
    expect(failure.violations[0]).toMatchObject({ kind: 'unhandled-child-reason', reason: 'TOOL_FAILURE' });
    // The shortest path is one fatal tool failure in a stage whose failure publish completed over.
    expect(failure.path).toHaveLength(1);
    expect(failure.path[0]!.pick).toBe('fatal');
    const printed = report.format();
    expect(printed).toContain('shortest failing path (1 fault');
    expect(printed).toContain(`${failure.path[0]!.at} -> fatal`);
    expect(printed).toContain(`REINS_EXPLORE_REPLAY='${JSON.stringify(failure.path)}'`);
    // The replay runs that one path and fails the same way.
    const replayed = await explore(withoutLeftBehindRoute(), { input: twoShots, faults: catalogueFaults, replay: failure.path });
    expect(replayed.paths).toBe(1);
    expect(replayed.failures[0]!.violations).toEqual(failure.violations);
  }, 180_000);

  it('the catalogue as written handles the same faults', async () => {
    const report = await explore(catalogue, { input: twoShots, faults: catalogueFaults, depth: 20, maxPaths: 12 });
    expect(report.format()).toContain('no invariant broken');
    // The decision models allow no more: the default path, and the one tool call of each of the eight runs it starts failing fatally.
    expect(report.paths).toBe(9);
    expect(report.reached.TOOL_FAILURE).toBeDefined();
    expect(report.reached.ESCALATED).toBeDefined();
  }, 180_000);

  describe('the demo support agent', () => {
    const email = (to: string) => ({ call: 'send_email', args: { to, subject: 'Your order', body: 'It is on its way.' } });
    const model = [{ call: 'lookup_order', args: { orderId: 'A-1001' } }, email('dana@example.com'), { answer: 'told the customer' }];
    const faults = { model: ['script'], tools: ['ok', 'in-doubt', 'crash'] } as const;
    const task = 'Where is my order A-1001?';

    /** The support agent whose send_email can be reconciled against the mail provider's log of keys. */
    function withReconcile() {
      const sent = new Map<string, unknown>();
      const options = agentOptionsOf(support)!;
      const tools = (options.tools ?? []).map((t): ToolDefinition => {
        if (t.name !== 'send_email') return t;
        return tool({
          name: t.name,
          description: t.description,
          input: t.input as z.ZodType<{ to: string }>,
          sideEffect: t.sideEffect,
          timeoutMs: t.timeoutMs,
          run: ({ to }, { idempotencyKey }) => {
            sent.set(idempotencyKey, { to });
            return { to };
          },
          reconcile: (key) => (sent.has(key) ? { applied: true, result: sent.get(key) } : { applied: false }),
        });
      });
      return defineAgent({ ...options, id: 'support-reconciled', tools });
    }

    it('with reconcile removed from send_email (a non-idempotent tool), exploration finds the ACTION_IN_DOUBT path', async () => {
      const report = await explore(support, { input: task, model, faults, forbid: ['ACTION_IN_DOUBT'], maxPaths: 50 });
      expect(report.ok).toBe(false);
      const failure = report.failures[0]!;
      expect(failure.violations[0]).toMatchObject({ kind: 'forbidden-reason', reason: 'ACTION_IN_DOUBT' });
      expect(failure.outcome).toMatchObject({ reason: 'ACTION_IN_DOUBT', tool: 'send_email' });
      expect(failure.path).toEqual([{ at: expect.stringMatching(/\/tool\/send_email\/\d+\/1$/), pick: expect.stringMatching(/^(in-doubt|crash)$/) }]);
      expect(report.format()).toContain('send_email');
    }, 120_000);

    it('with reconcile, the same faults never end in doubt and never send twice', async () => {
      const report = await explore(withReconcile(), { input: task, model, faults, forbid: ['ACTION_IN_DOUBT'], maxPaths: 50, stopAtFirstFailure: false });
      expect(report.format()).toContain('no invariant broken');
      expect(report.reached.ACTION_IN_DOUBT).toBeUndefined();
      expect(report.reached.COMPLETED).toBeDefined();
      expect(report.coverage.states.reached).toBeGreaterThan(0);
      expect(report.coverage.states.reached).toBeLessThanOrEqual(report.coverage.states.total);
    }, 120_000);
  });
});
