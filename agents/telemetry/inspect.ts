import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import type { InspectionEvent, Observer } from 'xstate';
import { ReinsError } from '../errors.js';
import { DEFAULT_SECRET_KEYS } from '../redact.js';
import { RelayAdapter, type RelaySocketClass } from './relay-adapter.js';

/** `@statelyai/inspect` is an optional peer: install it to watch runs in the Stately inspector. */
export class InspectorUnavailableError extends ReinsError {
  constructor(options?: ErrorOptions) {
    super('inspector-unavailable', '@statelyai/inspect is not installed: `npm install --save-dev @statelyai/inspect` to watch runs in the Stately inspector', options);
  }
}

/** The relay's port is taken (by another inspector, or anything else). */
export class InspectorPortInUseError extends ReinsError {
  constructor(port: number, options?: ErrorOptions) {
    super('inspector-port-in-use', `port ${port} is in use: pick another with { kind: 'server', port }`, options);
  }
}

/** An inspection event as `@statelyai/inspect` sends it on: XState's, made JSON-safe, with the actor's session id. */
export interface StatelyEvent {
  /** '@xstate.actor', '@xstate.snapshot' or '@xstate.event'. */
  readonly type: string;
  readonly sessionId: string;
  readonly rootId: string | undefined;
  /** The event received (an event), or the one that led to this snapshot. */
  readonly event?: { readonly type: string };
  readonly snapshot?: { readonly status?: string; readonly value?: unknown; readonly context?: unknown };
}

/** Where `@statelyai/inspect` sends events: its WebSocket and browser adapters, or yours. */
export interface InspectionAdapter {
  send(event: StatelyEvent): void;
  start?(): void;
  stop?(): void;
}

/**
 * Where the inspector sends events.
 * - `server` (default): starts `@statelyai/inspect`'s relay in this process
 *   (HTTP page + WebSocket on `port`, default 8080) and connects to it. Open
 *   the page in a browser: it embeds the Stately inspector UI
 *   (https://stately.ai/inspect), which the browser must be able to reach.
 * - `websocket`: connects to a relay that already runs (another process).
 * - `adapter`: hands events to your adapter (tests, a log, a custom UI).
 */
export type InspectorTarget =
  | { readonly kind: 'server'; readonly port?: number; readonly open?: boolean; readonly uiUrl?: string }
  | { readonly kind: 'websocket'; readonly url: string }
  | { readonly kind: 'adapter'; readonly adapter: InspectionAdapter };

export interface StatelyInspectorOptions {
  readonly target?: InspectorTarget;
  /** Keys whose values are replaced by "[redacted]" in contexts and events (default: the logger's); [] sends everything. */
  readonly secretKeys?: readonly string[];
  /** Drops events this returns false for. */
  readonly filter?: (event: StatelyEvent) => boolean;
}

/** A live inspector: pass `inspect` to `Supervisor.open({ inspect })` or `agent.start({ inspect })`. */
export interface StatelyInspector {
  readonly inspect: Observer<InspectionEvent>;
  /** Where to watch: the relay's page (server), the relay's URL (websocket), or null (adapter). */
  readonly url: string | null;
  /** Disconnects, and stops the relay this inspector started. */
  stop(): void;
}

/** How `@statelyai/inspect` is configured here: a serializer that sees each converted event whole, and a filter. */
interface InspectorConfig {
  readonly serialize: <E extends StatelyEvent>(event: E) => E;
  readonly filter?: (event: StatelyEvent) => boolean;
}

/**
 * What reins uses of the optional peer: its inspector, its relay server, and
 * the WebSocket client it depends on. Declared here rather than imported, so
 * that reins' published types do not name a package the user may not have.
 */
export interface StatelyInspectLib {
  readonly inspect: {
    createInspector(adapter: InspectionAdapter, options: InspectorConfig): { readonly inspect: Observer<InspectionEvent>; start(): void; stop(): void };
  };
  readonly server: {
    createInspectorServer(options: { port: number; autoOpen: boolean; url?: string }): { stop(): void };
  };
  readonly Socket: RelaySocketClass;
}

const MISSING_MODULE = new Set(['ERR_MODULE_NOT_FOUND', 'MODULE_NOT_FOUND']);

async function importStatelyInspect(): Promise<StatelyInspectLib> {
  const [inspect, server] = await Promise.all([import('@statelyai/inspect'), import('@statelyai/inspect/server')]);
  // ws is @statelyai/inspect's own dependency: resolved from there, it is found under any package manager's layout.
  const Socket = createRequire(import.meta.resolve('@statelyai/inspect'))('ws') as RelaySocketClass;
  return { inspect, server, Socket };
}

/** Loads the optional peer; InspectorUnavailableError when it (or its WebSocket client) is not installed. */
export async function loadStatelyInspect(importer: () => Promise<StatelyInspectLib> = importStatelyInspect): Promise<StatelyInspectLib> {
  try {
    return await importer();
  } catch (error) {
    if (MISSING_MODULE.has((error as NodeJS.ErrnoException | null)?.code ?? '')) throw new InspectorUnavailableError({ cause: error });
    throw error;
  }
}

/**
 * Wires the Stately inspector (`@statelyai/inspect`, the maintained
 * successor of `@xstate/inspect`) to reins runs. The package is loaded on
 * demand, so it stays an optional peer.
 *
 * Every event goes out with secret keys redacted, also inside strings that
 * hold JSON (see `inspectionSerializer`). The relay listens on every
 * interface of this host and relays to anyone who connects: run it on a
 * development machine.
 */
export async function statelyInspector(options: StatelyInspectorOptions = {}): Promise<StatelyInspector> {
  const lib = await loadStatelyInspect();
  const target = options.target ?? { kind: 'server' };
  // serialize sees every event whole (actor, snapshot, event; the run's and its calls'), where sanitizeContext sees contexts only.
  const common: InspectorConfig = { ...(options.filter ? { filter: options.filter } : {}), serialize: inspectionSerializer(options.secretKeys ?? DEFAULT_SECRET_KEYS) };

  if (target.kind === 'adapter') {
    const adapter = target.adapter;
    // Events are sent from a timer: an adapter that throws would take the process down, so it loses that event instead.
    const guarded: InspectionAdapter = {
      send(event) {
        try {
          adapter.send(event);
        } catch {
          // dropped
        }
      },
      start: () => adapter.start?.(),
      stop: () => adapter.stop?.(),
    };
    const inspector = lib.inspect.createInspector(guarded, common);
    inspector.start();
    return { inspect: inspector.inspect, url: null, stop: () => inspector.stop() };
  }

  let relay: { stop(): void } | null = null;
  let url: string;
  let page: string;
  if (target.kind === 'server') {
    const port = target.port ?? 8080;
    // The relay has no error handler of its own: a taken port would crash the process instead of failing here.
    await assertPortFree(port);
    relay = lib.server.createInspectorServer({ port, autoOpen: target.open ?? false, ...(target.uiUrl ? { url: target.uiUrl } : {}) });
    url = `ws://localhost:${port}`;
    page = `http://localhost:${port}`;
  } else {
    url = target.url;
    page = target.url;
  }
  const inspector = lib.inspect.createInspector(new RelayAdapter(url, lib.Socket), common);
  inspector.start();
  return {
    inspect: inspector.inspect,
    url: page,
    stop() {
      inspector.stop();
      relay?.stop();
    },
  };
}

const REDACTED = '[redacted]';

/**
 * Makes inspection events JSON-safe and redacts secrets: the value of every
 * key named in `keys` (any depth, case-insensitive, as the logger does),
 * and the same keys inside strings that hold JSON, whole or cut short (a
 * tool call's arguments, a loop guard's label of a call). An event that
 * cannot be serialised goes out without its payload: it is converted on a
 * timer, where a throw would take the process down.
 */
export function inspectionSerializer(keys: readonly string[]): <E extends StatelyEvent>(event: E) => E {
  if (keys.length === 0) return (event) => event;
  const secret = new Set(keys.map((k) => k.toLowerCase()));
  const names = keys.map((k) => k.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|');
  // "key": "value" (possibly unterminated, in text cut short) or "key": 123 / true.
  const inText = new RegExp(`("(?:${names})"\\s*:\\s*)("(?:[^"\\\\]|\\\\.)*"?|[^,}\\]\\s]+)`, 'gi');
  const reviver = (key: string, value: unknown): unknown =>
    secret.has(key.toLowerCase()) ? REDACTED : typeof value === 'string' ? value.replace(inText, `$1"${REDACTED}"`) : value;
  return <E extends StatelyEvent>(event: E): E => {
    try {
      return JSON.parse(JSON.stringify(event), reviver) as E;
    } catch {
      return { type: event.type, sessionId: event.sessionId, rootId: event.rootId } as E;
    }
  };
}

/** Resolves when `port` can be listened on, else InspectorPortInUseError. */
function assertPortFree(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (error: NodeJS.ErrnoException) => reject(error.code === 'EADDRINUSE' ? new InspectorPortInUseError(port, { cause: error }) : error));
    probe.listen(port, () => probe.close(() => resolve()));
  });
}
