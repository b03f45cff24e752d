/**
 * The fleet-api example in one command: a Redis (a private redis-server when
 * REDIS_URL is not set), the HTTP endpoint of server.ts, two `reins worker`
 * processes and `reins console`. Ctrl-C (or SIGTERM) stops all of them.
 *
 *   npm run example:fleet-api
 *   FLEET_API_PORT=8787 (0: any free port)  FLEET_CONSOLE_PORT=0  REINS_API_TOKEN=…  REDIS_URL=redis://…
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { SliceQueue } from '../../agents/fleet/slice-queue.js';
import { createLogger } from '../../agents/logger.js';
import { Supervisor } from '../../agents/supervisor.js';
import { RedisStore } from '../../persistence/redis-store.js';
import { startRedis, type RedisServer } from '../../test/support/redis-server.js';
import { agents } from './agents.js';
import { startFleetApi } from './server.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const AGENTS = 'examples/fleet-api/agents.ts';
const WORKERS = 2;
const say = (line: string) => process.stdout.write(`${line}\n`);

/** A child process whose output is relayed line by line under its name; `ready` resolves on the first line matching `readyWhen`. */
interface Child {
  readonly name: string;
  readonly process: ChildProcess;
  readonly ready: Promise<RegExpExecArray>;
  readonly exited: Promise<number | NodeJS.Signals | null>;
}

function reins(name: string, args: readonly string[], env: NodeJS.ProcessEnv, readyWhen: RegExp): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', 'cli/main.ts', ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | NodeJS.Signals | null>((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code)));
  const ready = new Promise<RegExpExecArray>((resolve, reject) => {
    for (const stream of [child.stdout!, child.stderr!]) {
      createInterface({ input: stream }).on('line', (line) => {
        say(`[${name}] ${line}`);
        const m = readyWhen.exec(line);
        if (m) resolve(m);
      });
    }
    void exited.then((how) => reject(new Error(`${name} exited (${how}) before it was ready`)));
  });
  ready.catch(() => undefined);
  return { name, process: child, ready, exited };
}

async function main(): Promise<number> {
  const token = process.env.REINS_API_TOKEN || randomBytes(18).toString('base64url');
  const prefix = process.env.REINS_REDIS_PREFIX || 'reins';
  let redis: RedisServer | null = null;
  let url = process.env.REDIS_URL;
  if (!url) {
    redis = await startRedis({ appendonly: true });
    url = redis.url;
    say(`started a private redis-server on ${url} (pid ${redis.pid}); set REDIS_URL to use yours`);
  }
  const env = { REDIS_URL: url, REINS_REDIS_PREFIX: prefix, REINS_CONSOLE_TOKEN: token, REINS_LOG_LEVEL: process.env.REINS_LOG_LEVEL ?? 'warn' };
  const children: Child[] = [];
  const store = await RedisStore.connect(url, { prefix });
  const queue = new SliceQueue({ url, prefix });
  const supervisor = await Supervisor.open({ store, agents, queue, logger: createLogger({ level: 'warn' }) });
  let api: Awaited<ReturnType<typeof startFleetApi>> | null = null;

  let stopping = false;
  const stop = async () => {
    stopping = true;
    // Workers finish their slices in hand and release their runs; whatever they leave, the next worker takes up.
    for (const c of children) c.process.kill('SIGTERM');
    const late = setTimeout(() => children.forEach((c) => c.process.kill('SIGKILL')), 15_000);
    await Promise.all(children.map((c) => c.exited));
    clearTimeout(late);
    await api?.close();
    await supervisor.close();
    await queue.close();
    await store.close();
    await redis?.stop();
  };
  const signalled = new Promise<'signal'>((resolve) => {
    process.once('SIGINT', () => resolve('signal'));
    process.once('SIGTERM', () => resolve('signal'));
  });

  try {
    for (let i = 1; i <= WORKERS; i++) children.push(reins(`worker ${i}`, ['worker', '--agents', AGENTS, '--concurrency', '4', '--sweep-every', '60000'], env, /^reins worker /));
    const consolePort = process.env.FLEET_CONSOLE_PORT ?? '0';
    const console = reins('console', ['console', '--agents', AGENTS, '--port', consolePort], env, /open (http:\/\/\S+?)\/#token=/);
    children.push(console);
    api = await startFleetApi({ supervisor, store, token, port: Number(process.env.FLEET_API_PORT ?? 8787) });
    const [, consoleUrl] = await console.ready;
    await Promise.all(children.map((c) => c.ready));
    say('');
    say(`fleet-api ready: POST ${api.url}/runs, GET ${api.url}/runs/<id>`);
    say(`  token: ${token} (POST needs Authorization: Bearer <token>; the console's controls take the same one)`);
    say(`  console: ${consoleUrl}/#token=${token}`);
    say(`  processes: ${[...children.map((c) => `${c.name} ${c.process.pid}`), ...(redis ? [`redis-server ${redis.pid}`] : [])].join(', ')}`);
    say(`  try: curl -s -X POST ${api.url}/runs -H 'authorization: Bearer ${token}' -d '{"input":{"ticket":"T-42"}}'`);
    say('  Ctrl-C stops everything');
    // Any child that dies on its own ends the example: a half-started fleet would only confuse.
    const died = Promise.race(children.map((c) => c.exited.then((how) => ({ c, how }))));
    const first = await Promise.race([signalled, died]);
    if (first !== 'signal' && !stopping) {
      say(`${first.c.name} exited (${first.how}); stopping the example`);
      await stop();
      return 1;
    }
    say('stopping: workers finish their slices in hand');
    await stop();
    return 0;
  } catch (error) {
    say(`fleet-api could not start: ${error instanceof Error ? error.message : String(error)}`);
    await stop();
    return 1;
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
