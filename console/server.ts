/**
 * The operator console: one page (console/page.ts) and a JSON API on
 * node:http, bound to 127.0.0.1 by default. GET endpoints read and are open
 * on localhost; every mutating request needs `Authorization: Bearer <token>`
 * and gets 401 (changing nothing) without it. Live updates reach the page as
 * server-sent events from a StoreFeed.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { computeStats } from '../agents/stats.js';
import { createLogger } from '../agents/logger.js';
import { Supervisor } from '../agents/supervisor.js';
import { createMetrics } from '../agents/telemetry/metrics.js';
import { TERMINAL_REASONS } from '../machines/outcome.js';
import type { SnapshotStore } from '../persistence/store.js';
import type { RunQueue } from '../agents/fleet/submit.js';
import type { QueueDepthSource } from '../agents/telemetry/queue-gauge.js';
import type { AnyAgent } from '../cli/agents-option.js';
import { parseSince } from '../cli/duration.js';
import { describeFailure, ExitCode } from '../cli/exit-codes.js';
import { listApprovals, runOfItem } from '../cli/ops/approvals.js';
import { activePaths, chartTree } from '../cli/ops/chart.js';
import { control, defaultOperator, type ControlCommand } from '../cli/ops/control.js';
import { listRuns, RUN_STATES, showRun, type RunState } from '../cli/ops/runs.js';
import { StoreFeed, type FeedEvent } from './feed.js';
import { consolePage } from './page.js';
import { DEFAULT_CONSOLE_PORT } from './defaults.js';

/** How to start the console. */
export interface ConsoleOptions {
  readonly store: SnapshotStore;
  /** The store in words for the page header (never with credentials). */
  readonly storeLabel: string;
  readonly agents: readonly AnyAgent[];
  /** Required on mutating requests; random when not given. */
  readonly token?: string;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Default 7420; 0 picks a free port. */
  readonly port?: number;
  /** How often the feed reads the store while a page listens; default 300 ms. */
  readonly pollMs?: number;
  /** Who mutations are recorded as when the request does not say. */
  readonly operator?: string;
  /**
   * A fleet's slice queue (SliceQueue) on a Redis store: its depth by state
   * shows on the page, in /api/stats and as `reins_queue_jobs`, and a
   * command for a run nobody hosts wakes it on the fleet instead of hosting
   * it in the console.
   */
  readonly queue?: QueueDepthSource & RunQueue;
}

/** A running console. */
export interface RunningConsole {
  readonly port: number;
  readonly token: string;
  /** The address to open: carries the token in the fragment, which browsers never send to the server. */
  readonly url: string;
  readonly supervisor: Supervisor;
  close(): Promise<void>;
}

export { DEFAULT_CONSOLE_PORT };

const MAX_BODY_BYTES = 64 * 1024;
const HEARTBEAT_MS = 15_000;
const CONTROL_WAIT_MS = 2_000;

/** An HTTP answer with a status and a JSON error. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Whether the request carries the token (compared in constant time). */
function authorized(req: IncomingMessage, token: string): boolean {
  const header = req.headers.authorization ?? '';
  const given = /^Bearer\s+(.+)$/i.exec(header)?.[1]?.trim() ?? (typeof req.headers['x-reins-token'] === 'string' ? req.headers['x-reins-token'] : '');
  return given.length > 0 && timingSafeEqual(digest(given), digest(token));
}

/** Browsers on another site may reach 127.0.0.1 through DNS rebinding: a loopback console answers only to loopback host names. */
function hostAllowed(req: IncomingMessage, boundHost: string): boolean {
  if (!['127.0.0.1', 'localhost', '::1'].includes(boundHost)) return true;
  const host = (req.headers.host ?? '').replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  return ['127.0.0.1', 'localhost', '::1'].includes(host);
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(text);
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, 'request body too large');
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (!text) return {};
  try {
    const value = JSON.parse(text) as unknown;
    if (value && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // Reported below.
  }
  throw new HttpError(400, 'the body must be a JSON object');
}

const optionalString = (body: Record<string, unknown>, key: string): string | undefined => {
  const v = body[key];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string' || v.length > 2_000) throw new HttpError(400, `${key} must be a string of at most 2000 characters`);
  return v;
};

/** The HTTP status for an error: the CLI's exit codes, mapped. */
function statusOf(error: unknown): { status: number; message: string } {
  if (error instanceof HttpError) return { status: error.status, message: error.message };
  const { exitCode, message } = describeFailure(error);
  const status = { [ExitCode.usage]: 400, [ExitCode.notFound]: 404, [ExitCode.storeUnreachable]: 503, [ExitCode.conflict]: 409 }[exitCode as number] ?? 500;
  return { status, message };
}

/** Starts the console; resolves once it listens. */
export async function startConsole(options: ConsoleOptions): Promise<RunningConsole> {
  const token = options.token ?? randomBytes(18).toString('base64url');
  const host = options.host ?? '127.0.0.1';
  const { store } = options;
  // Store-wide gauges (computed at scrape time) show the whole fleet; the observer counts what this console hosts itself.
  const metrics = createMetrics({ store, ...(options.queue ? { queue: options.queue } : {}) });
  // Commands for runs nobody hosts are applied here; a run this console had to rehydrate (approve, resume) it keeps hosting.
  const supervisor = await Supervisor.open({ store, agents: [...options.agents], logger: createLogger(), observers: [metrics.observer], ...(options.queue ? { queue: options.queue } : {}) });
  const feed = new StoreFeed(store, { pollMs: options.pollMs ?? 300, ...(options.queue ? { queue: options.queue } : {}) });
  const agentsById = new Map(options.agents.map((a) => [a.id, a]));
  const streams = new Set<ServerResponse>();

  const routes: Array<{ method: string; pattern: RegExp; mutating?: boolean; handle: (req: IncomingMessage, res: ServerResponse, m: RegExpExecArray, url: URL) => Promise<void> }> = [
    {
      method: 'GET',
      pattern: /^\/$/,
      handle: async (_req, res) => {
        // Rendered with the runs in it: the first paint needs neither the script nor the event stream.
        const { runs, queue } = await feed.hello();
        const page = consolePage({ runs, storeLabel: options.storeLabel, agents: [...agentsById.keys()], queue });
        res.writeHead(200, {
          'content-type': 'text/html; charset=utf-8',
          'cache-control': 'no-store',
          // Everything is inline and same-origin: nothing else may load, nothing may frame the page.
          'content-security-policy': "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
          'x-content-type-options': 'nosniff',
        });
        res.end(page);
      },
    },
    {
      method: 'GET',
      pattern: /^\/api\/info$/,
      handle: async (_req, res) => sendJson(res, 200, { store: options.storeLabel, agents: [...agentsById.keys()], worker: supervisor.workerId }),
    },
    {
      method: 'GET',
      pattern: /^\/api\/runs$/,
      handle: async (_req, res, _m, url) => {
        const status = url.searchParams.get('status') ?? undefined;
        if (status !== undefined && !RUN_STATES.includes(status as RunState)) throw new HttpError(400, `status must be one of ${RUN_STATES.join(', ')}`);
        const reason = url.searchParams.get('reason') ?? undefined;
        if (reason !== undefined && !(TERMINAL_REASONS as readonly string[]).includes(reason)) throw new HttpError(400, 'reason must be a terminal reason');
        const limit = Number(url.searchParams.get('limit') ?? 200);
        if (!Number.isInteger(limit) || limit < 1) throw new HttpError(400, 'limit must be a positive integer');
        const agent = url.searchParams.get('agent') ?? undefined;
        const { runs, total } = await listRuns(store, { ...(status ? { status: status as RunState } : {}), ...(agent ? { agentId: agent } : {}), ...(reason ? { reason } : {}), limit });
        sendJson(res, 200, { runs, total });
      },
    },
    {
      method: 'GET',
      pattern: /^\/api\/runs\/([^/]+)$/,
      handle: async (_req, res, m) => {
        const detail = await showRun(store, decodeURIComponent(m[1]!), { timelineLimit: 300 });
        sendJson(res, 200, { ...detail, activePaths: activePaths(detail.stateValue) });
      },
    },
    {
      method: 'GET',
      pattern: /^\/api\/approvals$/,
      handle: async (_req, res) => sendJson(res, 200, await listApprovals(store)),
    },
    {
      method: 'GET',
      pattern: /^\/api\/stats$/,
      handle: async (_req, res, _m, url) => {
        const since = url.searchParams.get('since');
        const agent = url.searchParams.get('agent');
        let sinceMs: number | undefined;
        try {
          sinceMs = since ? parseSince(since) : undefined;
        } catch (error) {
          throw new HttpError(400, `since: ${(error as Error).message}`);
        }
        const stats = computeStats(await store.list(), { ...(sinceMs !== undefined ? { since: sinceMs } : {}), ...(agent ? { agentId: agent } : {}) });
        sendJson(res, 200, options.queue ? { ...stats, queue: await options.queue.depth() } : stats);
      },
    },
    {
      method: 'GET',
      pattern: /^\/api\/agents\/([^/]+)\/chart$/,
      handle: async (_req, res, m) => {
        const agent = agentsById.get(decodeURIComponent(m[1]!));
        if (!agent) throw new HttpError(404, `no agent named ${decodeURIComponent(m[1]!)} is loaded in this console`);
        sendJson(res, 200, chartTree(agent.chart));
      },
    },
    {
      method: 'GET',
      pattern: /^\/api\/events$/,
      handle: async (req, res) => {
        res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
        res.write('retry: 1000\n\n');
        streams.add(res);
        const send = (event: FeedEvent) => res.write(`event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
        const unsubscribe = await feed.subscribe(send);
        const heartbeat = setInterval(() => res.write(': ping\n\n'), HEARTBEAT_MS);
        req.on('close', () => {
          clearInterval(heartbeat);
          unsubscribe();
          streams.delete(res);
        });
      },
    },
    {
      method: 'GET',
      pattern: /^\/metrics$/,
      handle: async (_req, res) => {
        const text = await metrics.render();
        res.writeHead(200, { 'content-type': metrics.contentType });
        res.end(text);
      },
    },
    {
      method: 'POST',
      pattern: /^\/api\/(runs|approvals)\/([^/]+)\/(pause|resume|kill|approve|reject)$/,
      mutating: true,
      handle: async (req, res, m) => {
        const [, kind, rawId, command] = m as unknown as [string, 'runs' | 'approvals', string, ControlCommand];
        const onRun = command === 'pause' || command === 'resume' || command === 'kill';
        if (onRun !== (kind === 'runs')) throw new HttpError(404, `${command} is under /api/${onRun ? 'runs' : 'approvals'}/<id>/${command}`);
        const body = await readJson(req);
        const id = decodeURIComponent(rawId);
        const by = optionalString(body, 'by') ?? options.operator ?? defaultOperator();
        const why = command === 'reject' ? optionalString(body, 'feedback') ?? 'Rejected by an operator.' : optionalString(body, 'why');
        const result = await control(supervisor, { command, runId: kind === 'approvals' ? runOfItem(id) : id, by, ...(why !== undefined ? { why } : {}) }, { waitMs: CONTROL_WAIT_MS });
        feed.poke();
        sendJson(res, 200, { runId: result.runId, command, effect: result.effect, run: result.run });
      },
    },
  ];

  const server: Server = createServer((req, res) => {
    void (async () => {
      try {
        if (!hostAllowed(req, host)) throw new HttpError(403, 'this console answers only to localhost');
        const url = new URL(req.url ?? '/', 'http://console.local');
        const matching = routes.filter((r) => r.pattern.test(url.pathname));
        if (matching.length === 0) throw new HttpError(404, `no such endpoint: ${url.pathname}`);
        const route = matching.find((r) => r.method === req.method);
        if (!route) {
          res.setHeader('allow', matching.map((r) => r.method).join(', '));
          throw new HttpError(405, `${req.method} is not allowed on ${url.pathname}`);
        }
        // Authorization first: a request without the token learns nothing and changes nothing.
        if (route.mutating && !authorized(req, token)) throw new HttpError(401, 'missing or wrong token: send Authorization: Bearer <token> (printed by reins console)');
        await route.handle(req, res, route.pattern.exec(url.pathname)!, url);
      } catch (error) {
        const { status, message } = statusOf(error);
        if (res.headersSent) {
          res.end();
          return;
        }
        if (status === 401) res.setHeader('www-authenticate', 'Bearer realm="reins console"');
        sendJson(res, status, { error: message });
      }
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? DEFAULT_CONSOLE_PORT, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return {
    port,
    token,
    url: `http://${shownHost}:${port}/#token=${token}`,
    supervisor,
    async close() {
      feed.close();
      for (const s of streams) s.end();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      await supervisor.close();
    },
  };
}
