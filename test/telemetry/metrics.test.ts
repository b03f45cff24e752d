import { afterEach, describe, expect, it } from 'vitest';
import { groupOf, TERMINAL_REASONS } from '../../machines/outcome.js';
import { MemoryStore } from '../../persistence/memory-store.js';
import { createMetrics } from '../../agents/telemetry/metrics.js';
import { BoundedLabel, OTHER, reasonLabels } from '../../agents/telemetry/labels.js';
import { faulty } from '../support/faulty-store.js';
import { until } from '../support/tools.js';
import { parseExposition, sumOf, valueOf, type Exposition } from './exposition.js';
import { EXPECTED, FLEET, gated, runFleet, toolRuns, type FleetRun } from './fleet.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** Runs the scripted fleet with a fresh metrics observer and returns the parsed exposition. */
async function scrapedFleet(options: { withStore?: boolean } = {}) {
  const store = new MemoryStore();
  const metrics = createMetrics(options.withStore ? { store, storeGauges: { cacheMs: 0 } } : {});
  const toolsBefore = toolRuns.count;
  const { supervisor, runs } = await runFleet([metrics.observer], { store });
  cleanups.push(() => supervisor.close({ timeoutMs: 100 }));
  const text = await metrics.render();
  return { store, metrics, supervisor, runs, text, exposition: parseExposition(text), toolCalls: toolRuns.count - toolsBefore };
}

/** Trace entries of one kind across runs, optionally of one agent. */
function entries(runs: readonly FleetRun[], kind: string, agentId?: string) {
  return runs.filter((r) => agentId === undefined || r.agentId === agentId).flatMap((r) => r.trace.filter((e) => e.kind === kind));
}

describe('live metrics from the observer', () => {
  it('counts runs started and ended by reason and group, exactly', async () => {
    const { exposition: e, runs } = await scrapedFleet();
    expect(runs.map((r) => r.outcome.reason)).toEqual(FLEET.map(([, scenario]) => EXPECTED[scenario]));

    expect(valueOf(e, 'reins_runs_started_total', { agent: 'support' })).toBe(6);
    expect(valueOf(e, 'reins_runs_started_total', { agent: 'research' })).toBe(3);
    expect(valueOf(e, 'reins_runs_resumed_total', { agent: 'support' })).toBe(0);
    expect(valueOf(e, 'reins_runs_ended_total', { agent: 'support', reason: 'COMPLETED', group: 'healthy' })).toBe(3);
    expect(valueOf(e, 'reins_runs_ended_total', { agent: 'support', reason: 'INFEASIBLE', group: 'healthy' })).toBe(1);
    expect(valueOf(e, 'reins_runs_ended_total', { agent: 'support', reason: 'TOOL_FAILURE', group: 'broken' })).toBe(1);
    expect(valueOf(e, 'reins_runs_ended_total', { agent: 'support', reason: 'BUDGET_EXCEEDED', group: 'exhausted' })).toBe(1);
    expect(valueOf(e, 'reins_runs_ended_total', { agent: 'research', reason: 'COMPLETED', group: 'healthy' })).toBe(1);
    expect(valueOf(e, 'reins_runs_ended_total', { agent: 'research', reason: 'INFEASIBLE', group: 'healthy' })).toBe(1);
    expect(valueOf(e, 'reins_runs_ended_total', { agent: 'research', reason: 'MODEL_REFUSED', group: 'broken' })).toBe(1);
    // Nothing else was counted: the ended series add up to the runs.
    expect(sumOf(e, 'reins_runs_ended_total')).toBe(FLEET.length);
    expect(sumOf(e, 'reins_runs_ended_total', { group: 'broken' })).toBe(2);
  });

  it('observes one tool latency per tool call, split by outcome, and one model latency per model call', async () => {
    const { exposition: e, runs, toolCalls } = await scrapedFleet();
    const toolEntries = entries(runs, 'tool');
    expect(toolCalls).toBe(7);
    expect(toolEntries).toHaveLength(toolCalls);
    expect(sumOf(e, 'reins_tool_latency_seconds_count')).toBe(toolCalls);
    expect(valueOf(e, 'reins_tool_latency_seconds_count', { agent: 'support', tool: 'lookup', ok: 'true' })).toBe(5);
    expect(valueOf(e, 'reins_tool_latency_seconds_count', { agent: 'support', tool: 'lookup', ok: 'false' })).toBe(1);
    // The failed attempt is counted by kind: a throw; hidden failures (an output check) are counted in test/scenarios/hidden-failures.test.ts.
    expect(valueOf(e, 'reins_tool_failures_total', { agent: 'support', tool: 'lookup', kind: 'error' })).toBe(1);
    expect(e.samples.filter((x) => x.name === 'reins_tool_failures_total')).toHaveLength(1);
    expect(valueOf(e, 'reins_tool_latency_seconds_count', { agent: 'research', tool: 'lookup', ok: 'true' })).toBe(1);
    // The sum is the trace's latencies, in seconds.
    const latencySeconds = toolEntries.reduce((sum, t) => sum + (t.latencyMs as number), 0) / 1000;
    expect(sumOf(e, 'reins_tool_latency_seconds_sum')).toBeCloseTo(latencySeconds, 6);
    expect(sumOf(e, 'reins_tool_latency_seconds_bucket', { le: '+Inf' })).toBe(toolCalls);

    expect(sumOf(e, 'reins_model_latency_seconds_count')).toBe(entries(runs, 'model').length);
    expect(valueOf(e, 'reins_model_latency_seconds_count', { agent: 'support', model: 'scripted' })).toBe(entries(runs, 'model', 'support').length);
  });

  it('observes turns and known costs per run at the outcome, and counts tokens', async () => {
    const { exposition: e, runs } = await scrapedFleet();
    for (const agent of ['support', 'research']) {
      const ended = runs.filter((r) => r.agentId === agent);
      expect(valueOf(e, 'reins_run_turns_count', { agent })).toBe(ended.length);
      expect(valueOf(e, 'reins_run_turns_sum', { agent })).toBe(ended.reduce((sum, r) => sum + r.outcome.turns, 0));
      expect(valueOf(e, 'reins_tokens_total', { agent, kind: 'input' })).toBe(ended.reduce((sum, r) => sum + r.outcome.usage.inputTokens, 0));
      expect(valueOf(e, 'reins_tokens_total', { agent, kind: 'output' })).toBe(ended.reduce((sum, r) => sum + r.outcome.usage.outputTokens, 0));
    }
    // support's model is priced: every run has a cost. research's is not: its cost is unknown, never a zero.
    const supportRuns = runs.filter((r) => r.agentId === 'support');
    expect(supportRuns.every((r) => r.outcome.usage.costKnown)).toBe(true);
    expect(valueOf(e, 'reins_run_cost_usd_count', { agent: 'support' })).toBe(6);
    expect(valueOf(e, 'reins_run_cost_usd_sum', { agent: 'support' })).toBeCloseTo(supportRuns.reduce((sum, r) => sum + r.outcome.usage.costUsd, 0), 12);
    expect(runs.filter((r) => r.agentId === 'research').some((r) => r.outcome.usage.costKnown)).toBe(false);
    expect(valueOf(e, 'reins_run_cost_usd_count', { agent: 'research' })).toBe(0);
  });

  it('renders a valid exposition with HELP and TYPE for every family, and no run id in any label', async () => {
    const { exposition: e, text, runs, metrics } = await scrapedFleet({ withStore: true });
    expect(metrics.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    const families: Record<string, string> = {
      reins_runs_started_total: 'counter',
      reins_runs_resumed_total: 'counter',
      reins_runs_ended_total: 'counter',
      reins_run_turns: 'histogram',
      reins_run_cost_usd: 'histogram',
      reins_tool_latency_seconds: 'histogram',
      reins_tool_failures_total: 'counter',
      reins_model_latency_seconds: 'histogram',
      reins_tokens_total: 'counter',
      reins_runs: 'gauge',
      reins_runs_by_reason: 'gauge',
      reins_store_runs_listed: 'gauge',
      reins_store_runs_truncated: 'gauge',
      reins_store_up: 'gauge',
      reins_retention_runs_total: 'counter',
      reins_retention_traces_total: 'counter',
    };
    for (const [family, type] of Object.entries(families)) {
      expect(e.type.get(family), family).toBe(type);
      expect(e.help.get(family)?.length ?? 0, family).toBeGreaterThan(10);
    }
    expect([...e.type.keys()].sort()).toEqual(Object.keys(families).sort());
    // Every sample belongs to a declared family.
    for (const sample of e.samples) expect(Object.keys(families).some((f) => sample.name === f || sample.name.startsWith(`${f}_`)), sample.name).toBe(true);

    const labelNames = new Set(e.samples.flatMap((s) => Object.keys(s.labels)));
    expect([...labelNames].sort()).toEqual(['agent', 'group', 'kind', 'le', 'model', 'ok', 'reason', 'status', 'tool']);
    for (const run of runs) {
      const uuid = run.runId.split(':')[1]!;
      expect(text).not.toContain(uuid);
    }
    const agents = new Set(e.samples.map((s) => s.labels.agent).filter((a) => a !== undefined));
    expect([...agents].sort()).toEqual(['research', 'support']);
  });
});

describe('store-wide gauges', () => {
  /** Counts the way the gauges should: straight from the store's listing. */
  async function expectedFromStore(store: MemoryStore) {
    const byStatus = new Map<string, number>();
    const byReason = new Map<string, number>();
    for (const s of await store.list()) {
      byStatus.set(`${s.agentId}/${s.status}`, (byStatus.get(`${s.agentId}/${s.status}`) ?? 0) + 1);
      if (s.reason) byReason.set(`${s.agentId}/${s.reason}`, (byReason.get(`${s.agentId}/${s.reason}`) ?? 0) + 1);
    }
    return { byStatus, byReason };
  }

  function gauges(e: Exposition) {
    const byStatus = new Map(e.samples.filter((s) => s.name === 'reins_runs').map((s) => [`${s.labels.agent}/${s.labels.status}`, s.value]));
    const byReason = new Map(e.samples.filter((s) => s.name === 'reins_runs_by_reason').map((s) => [`${s.labels.agent}/${s.labels.reason}`, s.value]));
    return { byStatus, byReason };
  }

  it("match store.list() in a console process that hosts no run, with runs ended, paused and running", async () => {
    const { store, supervisor } = await scrapedFleet();
    // One run left paused and one waiting for approval, so that not every run is done.
    const paused = await supervisor.start(gated.id, { runId: 'gated-paused' });
    const waiting = await supervisor.start(gated.id, { runId: 'gated-waiting' });
    await until(() => paused.status().status === 'awaiting-approval' && waiting.status().status === 'awaiting-approval');
    await supervisor.pause(paused.runId, 'alice', 'checking');
    await until(async () => (await store.load(paused.runId))?.summary.status === 'paused');

    // The console: no supervisor, no observer, only the store.
    const consoleMetrics = createMetrics({ store, storeGauges: { cacheMs: 0 } });
    const e = parseExposition(await consoleMetrics.render());
    const expected = await expectedFromStore(store);
    expect(gauges(e)).toEqual(expected);
    expect(expected.byStatus.get('gated/paused')).toBe(1);
    expect(expected.byStatus.get('gated/running')).toBe(1);
    expect(expected.byStatus.get('support/done')).toBe(6);
    expect(valueOf(e, 'reins_runs_by_reason', { agent: 'support', reason: 'BUDGET_EXCEEDED', group: 'exhausted' })).toBe(1);
    expect(valueOf(e, 'reins_runs_by_reason', { agent: 'research', reason: 'MODEL_REFUSED', group: 'broken' })).toBe(1);
    expect(valueOf(e, 'reins_store_runs_listed')).toBe(FLEET.length + 2);
    expect(valueOf(e, 'reins_store_runs_truncated')).toBe(0);
    expect(valueOf(e, 'reins_store_up')).toBe(1);
    // This process hosted nothing: its live counters have no samples.
    expect(sumOf(e, 'reins_runs_started_total')).toBe(0);

    // The gauges follow the store: once approved, the waiting run is done.
    await supervisor.approve(waiting.runId, 'alice');
    await waiting.outcome;
    const after = parseExposition(await consoleMetrics.render());
    expect(gauges(after)).toEqual(await expectedFromStore(store));
    expect(valueOf(after, 'reins_runs', { agent: 'gated', status: 'done' })).toBe(1);
  });

  it('lists at most maxRuns summaries per scrape and says when the cap cut', async () => {
    const { store } = await scrapedFleet();
    const metrics = createMetrics({ store, storeGauges: { maxRuns: 4, cacheMs: 0 } });
    const e = parseExposition(await metrics.render());
    expect(sumOf(e, 'reins_runs')).toBe(4);
    expect(valueOf(e, 'reins_store_runs_listed')).toBe(4);
    expect(valueOf(e, 'reins_store_runs_truncated')).toBe(1);
    // The four are the most recently updated, as store.list orders them.
    const newest = (await store.list({ limit: 4 })).filter((s) => s.reason !== null).length;
    expect(sumOf(e, 'reins_runs_by_reason')).toBe(newest);
  });

  it('shares one listing between the gauges of a scrape and reuses it within cacheMs', async () => {
    const { store } = await scrapedFleet();
    const counted = faulty(store);
    const metrics = createMetrics({ store: counted.store, storeGauges: { cacheMs: 60_000 } });
    await Promise.all([metrics.render(), metrics.render()]);
    await metrics.render();
    expect(counted.calls.get('list')).toBe(1);
    const uncached = faulty(store);
    const fresh = createMetrics({ store: uncached.store, storeGauges: { cacheMs: 0 } });
    await fresh.render();
    await fresh.render();
    expect(uncached.calls.get('list')).toBe(2);
  });

  it('an unreachable store empties the gauges and sets store_up to 0 without failing the scrape', async () => {
    const { store } = await scrapedFleet();
    const broken = faulty(store);
    const metrics = createMetrics({ store: broken.store, storeGauges: { cacheMs: 0 } });
    expect(valueOf(parseExposition(await metrics.render()), 'reins_store_up')).toBe(1);
    broken.set('down');
    const e = parseExposition(await metrics.render());
    expect(valueOf(e, 'reins_store_up')).toBe(0);
    expect(e.samples.filter((s) => s.name === 'reins_runs' || s.name === 'reins_runs_by_reason')).toEqual([]);
  });
});

describe('bounded labels', () => {
  it('caps distinct values, cuts long ones, and maps unknown reasons to _other', () => {
    const tools = new BoundedLabel(2);
    expect([tools.value('a'), tools.value('b'), tools.value('c'), tools.value('a')]).toEqual(['a', 'b', OTHER, 'a']);
    expect(new BoundedLabel(5).value('x'.repeat(500))).toHaveLength(128);
    for (const reason of TERMINAL_REASONS) expect(reasonLabels(reason)).toEqual({ reason, group: groupOf(reason) });
    expect(reasonLabels('SOMETHING_NEWER')).toEqual({ reason: OTHER, group: OTHER });
  });

  it('a process that sees more agents than the cap counts the rest under _other', async () => {
    const metrics = createMetrics({ maxLabelValues: { agents: 1 } });
    const store = new MemoryStore();
    const { supervisor } = await runFleet([metrics.observer], { store });
    cleanups.push(() => supervisor.close({ timeoutMs: 100 }));
    const e = parseExposition(await metrics.render());
    expect(valueOf(e, 'reins_runs_started_total', { agent: 'support' }) + valueOf(e, 'reins_runs_started_total', { agent: OTHER })).toBe(FLEET.length);
    expect(new Set(e.samples.map((s) => s.labels.agent)).size).toBeLessThanOrEqual(2);
  });
});

it('two metrics instances in one process do not collide (each has its own registry)', () => {
  const a = createMetrics();
  const b = createMetrics();
  expect(a.registry).not.toBe(b.registry);
  expect(() => createMetrics({ registry: a.registry })).toThrow(/already been registered/);
});
