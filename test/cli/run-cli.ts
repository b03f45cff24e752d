import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

/** The repository root: the CLI runs from source there, as `npm run reins` does. */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** What one `reins` invocation did. */
export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** The environment of a CLI child: no colours, and nothing from the developer's shell choosing the store or agents. */
export function cliEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', REINS_OPERATOR: 'tester@cli', ...extra };
  for (const key of ['REDIS_URL', 'REINS_AGENTS', 'REINS_REDIS_PREFIX', 'REINS_DEBUG', 'REINS_CONSOLE_TOKEN', 'COLUMNS', 'OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT']) {
    if (!(key in extra)) delete env[key];
  }
  return env;
}

/** Starts `reins <args>` as a child process (node --import tsx cli/main.ts), in the repository root or in `cwd`. */
export function spawnReins(args: readonly string[], env: NodeJS.ProcessEnv = {}, cwd: string = ROOT): ChildProcess {
  const main = fileURLToPath(new URL('../../cli/main.ts', import.meta.url));
  return spawn(process.execPath, ['--import', 'tsx', main, ...args], { cwd, env: cliEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Runs `reins <args>` to the end. */
export function reins(args: readonly string[], env: NodeJS.ProcessEnv = {}, cwd: string = ROOT): Promise<CliResult> {
  const child = spawnReins(args, env, cwd);
  return collect(child);
}

/** The command the CLI prints in its hints when it runs from source, as these tests run it. */
export const HINT = 'npm run reins --';

/** Collects a child's output until it exits. */
export function collect(child: ChildProcess): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Resolves once the child's stdout so far matches `test`; rejects if it exits first or `timeoutMs` passes. */
export function waitForOutput(child: ChildProcess, test: (stdout: string) => boolean, timeoutMs: number): Promise<string> {
  let seen = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`timed out after ${timeoutMs} ms; output so far:\n${seen}`)), timeoutMs);
    const onData = (d: Buffer) => {
      seen += d.toString();
      if (test(seen)) done(null);
    };
    const onExit = (code: number | null) => done(new Error(`exited with ${code} before the expected output:\n${seen}`));
    const done = (error: Error | null) => {
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      child.off('exit', onExit);
      if (error) reject(error);
      else resolve(seen);
    };
    child.stdout!.on('data', onData);
    child.on('exit', onExit);
  });
}

/** A TCP port nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
