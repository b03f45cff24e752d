/**
 * examples/fleet-api as its README starts it (one command): runs POSTed over
 * HTTP end COMPLETED on the example's two workers, read back over HTTP; a
 * POST without the token changes nothing; SIGTERM stops every process it
 * started (the API, two workers, the console, its private redis-server).
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { canSpawnWorkers, waitUntil } from '../crash/harness.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TOKEN = 'fleet-api-test-token';
/** How many runs the test submits (FLEET_API_RUNS). */
const RUNS = Number(process.env.FLEET_API_RUNS ?? 6);
/** Start-up compiles TypeScript in five processes: minutes on a loaded 2-core machine. */
const STARTUP_MS = 240_000;

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe.skipIf(!canSpawnWorkers())('examples/fleet-api', () => {
  const { REDIS_URL: _ignored, ...env } = process.env;
  const example = spawn(process.execPath, ['--import', 'tsx', 'examples/fleet-api/main.ts'], {
    cwd: ROOT,
    env: { ...env, FLEET_API_PORT: '0', FLEET_CONSOLE_PORT: '0', REINS_API_TOKEN: TOKEN, REINS_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => example.once('exit', (code) => resolve(code)));
  const lines: string[] = [];
  createInterface({ input: example.stdout! }).on('line', (l) => lines.push(l));
  createInterface({ input: example.stderr! }).on('line', (l) => lines.push(`stderr: ${l}`));
  const line = (re: RegExp) => lines.map((l) => re.exec(l)).find((m) => m !== null) ?? null;
  afterAll(() => {
    if (example.exitCode === null) example.kill('SIGKILL');
  });

  it('submits runs over HTTP, shows them terminal, and stops every process on SIGTERM', async () => {
    await waitUntil(() => line(/^fleet-api ready/) !== null || example.exitCode !== null, STARTUP_MS, `the example to start:\n${lines.join('\n')}`);
    expect(example.exitCode, lines.join('\n')).toBeNull();
    const api = line(/^fleet-api ready: POST (http:\/\/\S+)\/runs/)![1]!;
    const pids = [...line(/^ {2}processes: (.*)$/)![1]!.matchAll(/ (\d+)(?:,|$)/g)].map((m) => Number(m[1]));
    expect(pids).toHaveLength(4); // two workers, the console, the redis-server
    expect(line(/^ {2}console: (http:\/\/\S+\/#token=fleet-api-test-token)$/)).not.toBeNull();

    const post = (body: unknown, token: string | null = TOKEN) =>
      fetch(`${api}/runs`, { method: 'POST', headers: token ? { authorization: `Bearer ${token}` } : {}, body: JSON.stringify(body) });

    // Mutating without the token: refused before anything is read or written.
    const refused = await post({ input: { ticket: 'T-0' }, runId: 'no-token' }, null);
    expect(refused.status).toBe(401);
    expect(await refused.json()).toEqual({ error: 'missing or wrong token: send Authorization: Bearer <token>' });
    const wrong = await post({ input: { ticket: 'T-0' }, runId: 'no-token' }, 'not-the-token');
    expect(wrong.status).toBe(401);
    expect((await fetch(`${api}/runs/no-token`)).status).toBe(404);
    const badAgent = await post({ agent: 'nobody', input: {} });
    expect(badAgent.status).toBe(400);

    const ids: string[] = [];
    for (let i = 0; i < RUNS; i++) {
      const res = await post({ input: { ticket: `T-${i}` }, ...(i === 0 ? { runId: 'ticket-0' } : {}) });
      expect(res.status).toBe(201);
      ids.push(((await res.json()) as { runId: string }).runId);
    }
    expect(ids[0]).toBe('ticket-0');
    // The same run id again is the same run.
    const again = await post({ input: { ticket: 'T-0' }, runId: 'ticket-0' });
    expect(again.status).toBe(201);
    expect(await again.json()).toEqual({ runId: 'ticket-0' });

    const shown = new Map<string, { status: string; turns: number; outcome: { reason: string; result: unknown } | null }>();
    await waitUntil(
      async () => {
        for (const id of ids) {
          if (shown.get(id)?.status === 'done') continue;
          const res = await fetch(`${api}/runs/${id}`);
          expect(res.status).toBe(200);
          shown.set(id, (await res.json()) as never);
        }
        return ids.every((id) => shown.get(id)?.status === 'done');
      },
      STARTUP_MS,
      'every submitted run to end',
      200,
    );
    for (const id of ids) {
      expect(shown.get(id)).toMatchObject({ status: 'done', turns: 3, outcome: { reason: 'COMPLETED', result: 'The parcel shipped; it arrives tomorrow.' } });
    }
    // Each run ended once, on one of the two workers (each prints its ends).
    const ends = lines.filter((l) => / ended COMPLETED$/.test(l));
    expect(ends).toHaveLength(RUNS);
    expect(new Set(ends.map((l) => l.split(' ')[2]))).toEqual(new Set(ids));

    example.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(pids.filter(alive)).toEqual([]);
  }, STARTUP_MS * 2);
});
