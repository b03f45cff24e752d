// reins/metrics: Prometheus metrics for reins runs, its own entry point so that only its users load prom-client
// (an optional peer dependency).
export { createMetrics, DEFAULT_BUCKETS, type Metrics, type MetricsOptions, type MetricBuckets } from './metrics.js';
export type { StoreGaugeOptions } from './store-gauges.js';
export type { QueueDepthSource } from './queue-gauge.js';
export { OTHER } from './labels.js';
