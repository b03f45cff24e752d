import { Counter, Histogram, Registry } from 'prom-client';
import { groupOf, OutcomeGroup } from '../../machines/outcome.js';
import type { SnapshotStore } from '../../persistence/store.js';
import type { CallRecord, RunObserver } from '../observer.js';
import { BoundedLabel } from './labels.js';
import { registerQueueGauge, type QueueDepthSource } from './queue-gauge.js';
import { registerStoreGauges, type StoreGaugeOptions } from './store-gauges.js';

/** Histogram buckets, per histogram; the defaults suit agent runs (see `DEFAULT_BUCKETS`). */
export interface MetricBuckets {
  readonly turns?: readonly number[];
  readonly toolLatencySeconds?: readonly number[];
  readonly modelLatencySeconds?: readonly number[];
  readonly costUsd?: readonly number[];
}

export const DEFAULT_BUCKETS: Required<MetricBuckets> = {
  turns: [1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144],
  toolLatencySeconds: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  modelLatencySeconds: [0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120],
  costUsd: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
};

export interface MetricsOptions {
  /** When given, store-wide gauges (`reins_runs`, `reins_runs_by_reason`) are computed from `store.list()` at scrape time. */
  readonly store?: Pick<SnapshotStore, 'list'>;
  /** When given (a fleet's SliceQueue), `reins_queue_jobs{state}` counts its jobs by state at scrape time. */
  readonly queue?: QueueDepthSource;
  /** How the store-wide gauges read the store (listing cap, cache). */
  readonly storeGauges?: StoreGaugeOptions;
  /** Defaults to a new Registry: two `createMetrics` never collide, and nothing lands in prom-client's global one unasked. */
  readonly registry?: Registry;
  /** Metric name prefix; default `reins_`. */
  readonly prefix?: string;
  readonly buckets?: MetricBuckets;
  /** Distinct values per label at most (agents 100, tools 200, models 50 by default); the rest count under `_other`. */
  readonly maxLabelValues?: { readonly agents?: number; readonly tools?: number; readonly models?: number };
}

/** Prometheus metrics of a reins process: an observer for the Supervisor, and the exposition for `/metrics`. */
export interface Metrics {
  /** Pass to `Supervisor.open({ observers: [metrics.observer] })`. */
  readonly observer: RunObserver;
  readonly registry: Registry;
  /** The Content-Type header for `render()`'s text. */
  readonly contentType: string;
  /** The Prometheus text exposition of every metric in the registry. */
  render(): Promise<string>;
}

/** Tokens of one call, from a model call's `usage` or a helper's (judge, compaction) spend. */
function tokensOf(call: CallRecord): { inputTokens: number; outputTokens: number } | null {
  const usage = call.usage;
  return usage && typeof usage.inputTokens === 'number' && typeof usage.outputTokens === 'number' ? usage : null;
}

/**
 * Creates the metrics. The observer counts what runs hosted in this process
 * do (starts, outcomes, calls, tokens); with `store`, gauges computed at
 * scrape time show the whole fleet in the store. Labels are agent ids, tool
 * and model names, terminal reasons and groups, never run ids, and every
 * label's value set is capped.
 */
export function createMetrics(options: MetricsOptions = {}): Metrics {
  const registry = options.registry ?? new Registry();
  const prefix = options.prefix ?? 'reins_';
  const buckets = { ...DEFAULT_BUCKETS, ...options.buckets };
  const registers = [registry];
  const agents = new BoundedLabel(options.maxLabelValues?.agents ?? 100);
  const tools = new BoundedLabel(options.maxLabelValues?.tools ?? 200);
  const models = new BoundedLabel(options.maxLabelValues?.models ?? 50);

  const started = new Counter({
    name: `${prefix}runs_started_total`,
    help: 'Runs started in this process (fresh starts; rehydrations count in runs_resumed_total)',
    labelNames: ['agent'] as const,
    registers,
  });
  const resumed = new Counter({
    name: `${prefix}runs_resumed_total`,
    help: 'Runs rehydrated in this process from a stored snapshot (crash recovery, resume of an unloaded run, approval)',
    labelNames: ['agent'] as const,
    registers,
  });
  const ended = new Counter({
    name: `${prefix}runs_ended_total`,
    help: 'Runs that ended in this process, by terminal reason and alerting group (page on broken, watch exhausted)',
    labelNames: ['agent', 'reason', 'group'] as const,
    registers,
  });
  const turns = new Histogram({
    name: `${prefix}run_turns`,
    help: 'Turns (model calls) per run, observed at its outcome',
    labelNames: ['agent'] as const,
    buckets: [...buckets.turns],
    registers,
  });
  const cost = new Histogram({
    name: `${prefix}run_cost_usd`,
    help: 'Cost per run in US dollars, observed at its outcome; runs whose cost is unknown (an unpriced model) are left out',
    labelNames: ['agent'] as const,
    buckets: [...buckets.costUsd],
    registers,
  });
  const toolLatency = new Histogram({
    name: `${prefix}tool_latency_seconds`,
    help: 'Tool call latency, one observation per attempt; ok="false" for a failed or timed-out attempt',
    labelNames: ['agent', 'tool', 'ok'] as const,
    buckets: [...buckets.toolLatencySeconds],
    registers,
  });
  const toolFailures = new Counter({
    name: `${prefix}tool_failures_total`,
    help: 'Failed tool call attempts: kind="hidden" for a result its output check rejected (an error body under a 200), "budget" for a call a budget had no room for, "error" for a throw or timeout',
    labelNames: ['agent', 'tool', 'kind'] as const,
    registers,
  });
  const modelLatency = new Histogram({
    name: `${prefix}model_latency_seconds`,
    help: 'Model call latency, one observation per attempt; model="unknown" for a failed call (no response named the model)',
    labelNames: ['agent', 'model'] as const,
    buckets: [...buckets.modelLatencySeconds],
    registers,
  });
  const tokens = new Counter({
    name: `${prefix}tokens_total`,
    help: 'Tokens spent by runs in this process, kind="input" or "output": model calls and helper models (progress judge, compaction)',
    labelNames: ['agent', 'kind'] as const,
    registers,
  });

  const retainedRuns = new Counter({
    name: `${prefix}retention_runs_total`,
    help: 'Done runs the retention sweeps of this process deleted or kept, by outcome group (a run kept by several sweeps counts once per sweep)',
    labelNames: ['group', 'action'] as const,
    registers,
  });
  const retainedTraces = new Counter({
    name: `${prefix}retention_traces_total`,
    help: 'Traces of kept runs the retention sweeps of this process dropped or kept, by outcome group (kept: sampled, within the grace, or a group that keeps every trace)',
    labelNames: ['group', 'action'] as const,
    registers,
  });

  if (options.store) registerStoreGauges(options.store, registry, prefix, options.storeGauges);
  if (options.queue) registerQueueGauge(options.queue, registry, prefix);

  const observer: RunObserver = {
    onRunStart(run, info) {
      (info.resumed ? resumed : started).inc({ agent: agents.value(run.agentId) });
    },
    onCall(run, call) {
      const agent = agents.value(run.agentId);
      // The trace also carries progress checks and compactions; `kind` is wider than CallRecord's type says.
      const kind: string = call.kind;
      if (kind === 'tool') {
        const tool = tools.value(call.tool ?? 'unknown');
        toolLatency.observe({ agent, tool, ok: call.ok === false ? 'false' : 'true' }, call.latencyMs / 1000);
        if (call.ok === false) toolFailures.inc({ agent, tool, kind: call.hidden === true ? 'hidden' : call.budget ? 'budget' : 'error' });
      } else if (kind === 'model') {
        modelLatency.observe({ agent, model: models.value(call.model ?? 'unknown') }, call.latencyMs / 1000);
      }
      const spent = tokensOf(call);
      if (spent) {
        tokens.inc({ agent, kind: 'input' }, spent.inputTokens);
        tokens.inc({ agent, kind: 'output' }, spent.outputTokens);
      }
    },
    onOutcome(_run, outcome) {
      const agent = agents.value(outcome.agentId);
      ended.inc({ agent, reason: outcome.reason, group: groupOf(outcome.reason) });
      turns.observe({ agent }, outcome.turns);
      if (outcome.usage.costKnown) cost.observe({ agent }, outcome.usage.costUsd);
    },
    onRetention(report) {
      // A dry run changed nothing: counting it would report drops that never happened.
      if (report.dryRun) return;
      for (const group of OutcomeGroup.options) {
        const c = report.groups[group];
        retainedRuns.inc({ group, action: 'deleted' }, c.runsDeleted);
        retainedRuns.inc({ group, action: 'kept' }, c.runsKept);
        retainedTraces.inc({ group, action: 'dropped' }, c.tracesDropped);
        retainedTraces.inc({ group, action: 'kept' }, c.tracesKept);
      }
    },
  };

  return {
    observer,
    registry,
    get contentType() {
      return registry.contentType;
    },
    render: () => registry.metrics(),
  };
}
