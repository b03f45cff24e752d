// Telemetry for reins runs: Prometheus metrics, OpenTelemetry GenAI spans, the Stately inspector.
export { createMetrics, DEFAULT_BUCKETS, type Metrics, type MetricsOptions, type MetricBuckets } from './metrics.js';
export type { StoreGaugeOptions } from './store-gauges.js';
export { otelObserver, TRACER_NAME, type OtelObserverOptions } from './otel.js';
export { GEN_AI, ERROR_TYPE, REINS, type GenAiOperation } from './genai.js';
export {
  statelyInspector,
  loadStatelyInspect,
  inspectionSerializer,
  InspectorUnavailableError,
  InspectorPortInUseError,
  type StatelyInspector,
  type StatelyInspectorOptions,
  type InspectorTarget,
  type InspectionAdapter,
  type StatelyEvent,
} from './inspect.js';
export { OTHER } from './labels.js';
