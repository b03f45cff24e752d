import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect as netConnect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';

/** How to start a private redis-server for tests. */
export interface RedisServerOptions {
  /** AOF in the temp dir (crash tests); default: no persistence at all. */
  readonly appendonly?: boolean;
  /** With `appendonly`: fsync every write, so a SIGKILL loses nothing acknowledged. */
  readonly appendfsync?: 'always';
  /** `requirepass`: clients must AUTH. */
  readonly password?: string;
  /** Serve TLS only (the plain port is closed); the files are PEM paths. */
  readonly tls?: { readonly certFile: string; readonly keyFile: string; readonly caFile: string };
  /** A cluster node (`cluster-enabled yes`, its nodes.conf in its own directory): see redis-cluster.ts. */
  readonly cluster?: boolean;
}

/** A private redis-server owned by the test run. */
export interface RedisServer {
  /** `redis://127.0.0.1:PORT` (with `:password@` when one is set; `rediss://` with TLS). */
  readonly url: string;
  readonly port: number;
  /** The current process id (changes on restart). */
  readonly pid: number;
  /** Its working directory (AOF lives here); removed by stop(). */
  readonly dir: string;
  /** Shuts the server down and removes its directory. */
  stop(): Promise<void>;
  /** SIGKILL, as a machine crash would: no shutdown, no final fsync; the directory stays for restart(). */
  kill9(): Promise<void>;
  /** Starts the server again on the same port and directory (after kill9). */
  restart(): Promise<void>;
}

/** Whether a `redis-server` binary is on the PATH. */
export function hasRedisServer(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** A port that was free a moment ago: listen on 0, read it, close. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

const live = new Set<ChildProcess>();
// A test run that dies must not leave redis-servers behind.
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/** Spawns a private redis-server on a free port in a temp dir and waits until it answers PING. */
export async function startRedis(options: RedisServerOptions = {}): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), 'reins-redis-'));
  let lastError: unknown;
  // A free port can be taken between our probe and redis binding it: try a few.
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    try {
      const child = await spawnServer(port, dir, options);
      return handle(child, port, dir, options);
    } catch (err) {
      lastError = err;
    }
  }
  rmSync(dir, { recursive: true, force: true });
  throw lastError;
}

function handle(first: ChildProcess, port: number, dir: string, options: RedisServerOptions): RedisServer {
  let child: ChildProcess | null = first;
  const scheme = options.tls ? 'rediss' : 'redis';
  const auth = options.password !== undefined ? `:${encodeURIComponent(options.password)}@` : '';
  return {
    url: `${scheme}://${auth}127.0.0.1:${port}`,
    port,
    dir,
    get pid() {
      return child?.pid ?? -1;
    },
    async stop() {
      if (child) await terminate(child, 'SIGTERM');
      child = null;
      rmSync(dir, { recursive: true, force: true });
    },
    async kill9() {
      if (child) await terminate(child, 'SIGKILL');
      child = null;
    },
    async restart() {
      if (child) throw new Error('redis-server is still running: kill9() it first');
      child = await spawnServer(port, dir, options);
    },
  };
}

function argsFor(port: number, dir: string, o: RedisServerOptions): string[] {
  const args = ['--bind', '127.0.0.1', '--dir', dir, '--save', '', '--daemonize', 'no', '--logfile', ''];
  if (o.tls) {
    args.push('--port', '0', '--tls-port', String(port), '--tls-cert-file', o.tls.certFile, '--tls-key-file', o.tls.keyFile);
    args.push('--tls-ca-cert-file', o.tls.caFile, '--tls-auth-clients', 'no');
  } else {
    args.push('--port', String(port));
  }
  if (o.appendonly) args.push('--appendonly', 'yes', '--appendfsync', o.appendfsync ?? 'everysec');
  else args.push('--appendonly', 'no');
  if (o.password !== undefined) args.push('--requirepass', o.password);
  if (o.cluster) args.push('--cluster-enabled', 'yes', '--cluster-config-file', join(dir, 'nodes.conf'), '--cluster-node-timeout', '5000');
  return args;
}

async function spawnServer(port: number, dir: string, options: RedisServerOptions): Promise<ChildProcess> {
  const child = spawn('redis-server', argsFor(port, dir, options), { stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exited = false;
  child.once('exit', () => {
    exited = true;
    live.delete(child);
  });
  const spawnFailed = new Promise<never>((_, reject) => child.once('error', reject));
  spawnFailed.catch(() => {});
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (exited) throw new Error(`redis-server exited at start on port ${port}:\n${output}`);
    if (await Promise.race([ping(port, options), spawnFailed])) return child;
    await new Promise((r) => setTimeout(r, 25));
  }
  await terminate(child, 'SIGKILL');
  throw new Error(`redis-server on port ${port} did not answer PING within 10s:\n${output}`);
}

/** One PING over a raw socket (AUTH first when there is a password); true on +PONG. */
async function ping(port: number, o: RedisServerOptions): Promise<boolean> {
  return new Promise((resolve) => {
    const socket: Socket = o.tls
      ? tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false })
      : netConnect({ host: '127.0.0.1', port });
    let reply = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once('error', () => done(false));
    socket.once(o.tls ? 'secureConnect' : 'connect', () => {
      const auth = o.password !== undefined ? resp(['AUTH', o.password]) : '';
      socket.write(auth + resp(['PING']));
    });
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      if (reply.includes('+PONG')) done(true);
      else if (reply.startsWith('-') || reply.includes('\n-')) done(false);
    });
  });
}

function resp(parts: string[]): string {
  return `*${parts.length}\r\n${parts.map((p) => `$${Buffer.byteLength(p)}\r\n${p}\r\n`).join('')}`;
}

async function terminate(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}
