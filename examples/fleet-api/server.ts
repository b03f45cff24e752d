/**
 * The fleet-api example's HTTP endpoint (node:http, no framework): it submits
 * runs to the fleet and shows them. It hosts no run itself: `submit` makes
 * the run durable, queues its first slice and returns; whichever worker is
 * free runs it.
 *
 *   POST /runs      { "agent"?: "triage", "input": {…}, "runId"?: "…", "tenant"?: "…" }  → 201 { "runId" }
 *                   needs Authorization: Bearer <token> (it changes state, as the console's controls do)
 *   GET  /runs/:id  → 200 { runId, agentId, status, state, turns, reason, outcome } or 404
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { UnknownAgentError, type Supervisor } from '../../agents/supervisor.js';
import type { SnapshotStore } from '../../persistence/store.js';

/** What POST /runs takes. */
export const SubmitBody = z.object({
  agent: z.string().min(1).default('triage'),
  input: z.unknown().optional(),
  runId: z.string().min(1).max(200).regex(/^[\w.-]+$/, 'letters, digits, _ . - only').optional(),
  tenant: z.string().min(1).max(100).optional(),
});

export interface FleetApiOptions {
  /** Submits runs: a Supervisor opened with the fleet's queue. */
  readonly supervisor: Supervisor;
  /** Where runs are read from (the Supervisor's store). */
  readonly store: SnapshotStore;
  /** The bearer token POST /runs needs. */
  readonly token: string;
  readonly host?: string;
  /** 0: any free port. */
  readonly port?: number;
}

export interface FleetApi {
  readonly url: string;
  close(): Promise<void>;
}

/** A request the API refuses, with its status and a one-line reason. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const MAX_BODY_BYTES = 64 * 1024;
const digest = (s: string) => createHash('sha256').update(s).digest();

/** Whether the request carries the token (compared in constant time). */
function authorized(req: IncomingMessage, token: string): boolean {
  const given = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1]?.trim() ?? '';
  return given.length > 0 && timingSafeEqual(digest(given), digest(token));
}

async function jsonBody(req: IncomingMessage): Promise<unknown> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, `body over ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
  } catch {
    throw new HttpError(400, 'body is not JSON');
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

/** Starts the endpoint; resolves once it listens. */
export async function startFleetApi(options: FleetApiOptions): Promise<FleetApi> {
  const { supervisor, store, token } = options;

  async function submit(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Authorization first: a request without the token learns nothing and changes nothing.
    if (!authorized(req, token)) throw new HttpError(401, 'missing or wrong token: send Authorization: Bearer <token>');
    const parsed = SubmitBody.safeParse(await jsonBody(req));
    if (!parsed.success) throw new HttpError(400, parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
    const { agent, input, runId, tenant } = parsed.data;
    try {
      const id = await supervisor.submit(agent, { input, ...(runId ? { runId } : {}), ...(tenant ? { tenant } : {}) });
      send(res, 201, { runId: id });
    } catch (error) {
      if (error instanceof UnknownAgentError) throw new HttpError(400, error.message);
      throw error;
    }
  }

  async function show(res: ServerResponse, runId: string): Promise<void> {
    const record = await store.load(runId);
    if (!record) throw new HttpError(404, `no run ${runId}`);
    const { agentId, status, state, turns, reason } = record.summary;
    send(res, 200, { runId, agentId, status, state, turns, reason, outcome: record.outcome });
  }

  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const run = /^\/runs\/([^/]+)$/.exec(path);
    const handled =
      req.method === 'POST' && path === '/runs'
        ? submit(req, res)
        : req.method === 'GET' && run
          ? show(res, decodeURIComponent(run[1]!))
          : Promise.reject(new HttpError(404, `no route ${req.method} ${path}`));
    handled.catch((error: unknown) => {
      if (error instanceof HttpError) return send(res, error.status, { error: error.message });
      // The store's own wording may carry addresses: say what failed, not how.
      send(res, 500, { error: 'internal error' });
      process.stderr.write(`fleet-api: ${error instanceof Error ? error.name : 'error'} on ${req.method} ${path}\n`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
