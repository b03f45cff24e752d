import { execFileSync, spawnSync } from 'node:child_process';
import pg from 'pg';

/** A PostgreSQL database for the LangGraph Postgres saver, or why there is none. */
export type PostgresTarget = { url: string; version: string; started: boolean } | { skip: string };

const DEFAULT_ADMIN_URL = 'postgresql://postgres@127.0.0.1:5432/postgres';
const BENCH_DB = 'reins_bench';

async function tryConnect(url: string): Promise<{ client: pg.Client } | { error: Error }> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return { client };
  } catch (error) {
    await client.end().catch(() => undefined);
    return { error: error as Error };
  }
}

/** Starts the machine's PostgreSQL clusters if they are installed but stopped; returns what it did, or null when there is nothing to start. */
function startInstalled(): string | null {
  if (spawnSync('pg_lsclusters', ['--no-header'], { stdio: 'ignore' }).status === 0) {
    const clusters = execFileSync('pg_lsclusters', ['--no-header'], { encoding: 'utf8' })
      .split('\n')
      .map((line) => line.trim().split(/\s+/))
      .filter((f) => f.length >= 4 && f[3] !== 'online');
    for (const [version, name] of clusters) spawnSync('pg_ctlcluster', [version!, name!, 'start'], { stdio: 'ignore' });
    return clusters.length > 0 ? `started cluster ${clusters.map((c) => `${c[0]}/${c[1]}`).join(', ')}` : null;
  }
  if (spawnSync('service', ['postgresql', 'status'], { stdio: 'ignore' }).status !== null) {
    const r = spawnSync('service', ['postgresql', 'start'], { stdio: 'ignore' });
    return r.status === 0 ? 'started the postgresql service' : null;
  }
  return null;
}

/**
 * The machine's PostgreSQL: REINS_BENCH_PG_URL if set (used as is), else the
 * local server as user postgres, where a database `reins_bench` is created
 * for the saver's tables. A server that is installed but stopped is started.
 */
export async function findPostgres(): Promise<PostgresTarget> {
  const explicit = process.env.REINS_BENCH_PG_URL;
  const adminUrl = explicit ?? DEFAULT_ADMIN_URL;
  let attempt = await tryConnect(adminUrl);
  let started = false;
  if ('error' in attempt && /ECONNREFUSED|ENOENT/.test(String((attempt.error as NodeJS.ErrnoException).code ?? attempt.error.message))) {
    const did = startInstalled();
    if (did) {
      started = true;
      for (let i = 0; i < 40 && 'error' in attempt; i++) {
        await new Promise((r) => setTimeout(r, 250));
        attempt = await tryConnect(adminUrl);
      }
    }
  }
  if ('error' in attempt) return { skip: `no PostgreSQL reachable at ${redactUrl(adminUrl)} (${attempt.error.message}); set REINS_BENCH_PG_URL` };
  const admin = attempt.client;
  try {
    const version = String(((await admin.query('SHOW server_version')).rows[0] as { server_version: string }).server_version);
    if (explicit) return { url: explicit, version, started };
    const exists = (await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [BENCH_DB])).rowCount ?? 0;
    if (exists === 0) await admin.query(`CREATE DATABASE ${BENCH_DB}`);
    const url = new URL(adminUrl);
    url.pathname = `/${BENCH_DB}`;
    return { url: url.toString(), version, started };
  } catch (error) {
    return { skip: `PostgreSQL at ${redactUrl(adminUrl)} answered but could not be prepared (${(error as Error).message})` };
  } finally {
    await admin.end().catch(() => undefined);
  }
}

function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparsable URL)';
  }
}
