import type { RunObserver } from '../agents/observer.js';
import { otelObserver } from '../agents/telemetry/otel.js';
import { requirePeer } from './optional-peer.js';

/** Span export for a long-running command: the observers to give its Supervisor, and a shutdown that flushes. */
export interface Tracing {
  readonly observers: readonly RunObserver[];
  /** A line for the command's banner, or null when spans go nowhere. */
  readonly banner: string | null;
  shutdown(): Promise<void>;
}

const PACKAGES = ['@opentelemetry/sdk-trace-node', '@opentelemetry/exporter-trace-otlp-http', '@opentelemetry/resources'];

/**
 * When OTEL_EXPORTER_OTLP_ENDPOINT (or _TRACES_ENDPOINT) is set, registers an
 * OpenTelemetry SDK that sends reins' GenAI spans over OTLP/HTTP, as
 * OTEL_SERVICE_NAME (default "reins"); otherwise nothing, at no cost. The SDK
 * packages are the user's to install; a missing one is named.
 */
export async function otlpTracing(env: NodeJS.ProcessEnv = process.env): Promise<Tracing> {
  const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? env.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (!endpoint) return { observers: [], banner: null, shutdown: async () => {} };
  for (const pkg of PACKAGES) requirePeer(pkg, 'OTEL_EXPORTER_OTLP_ENDPOINT (span export)');
  const [{ NodeTracerProvider, BatchSpanProcessor }, { OTLPTraceExporter }, { resourceFromAttributes }] = await Promise.all([
    import('@opentelemetry/sdk-trace-node'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/resources'),
  ]);
  const service = env.OTEL_SERVICE_NAME ?? 'reins';
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': service }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())],
  });
  provider.register();
  return { observers: [otelObserver()], banner: `spans to ${endpoint} as ${service}`, shutdown: () => provider.shutdown() };
}
