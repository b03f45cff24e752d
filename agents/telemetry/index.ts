// reins/telemetry: OpenTelemetry GenAI spans and the Stately inspector. Prometheus metrics are reins/metrics
// (metrics-index.ts), so that importing this entry point never loads prom-client.
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
