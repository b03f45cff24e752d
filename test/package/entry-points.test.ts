import { describe, expect, it } from 'vitest';
import { collect } from '../cli/run-cli.js';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const OPTIONAL_PEERS = ['ioredis', 'prom-client'];

// A module-resolution hook that refuses the optional peers: a child process importing an entry point exits non-zero,
// naming the peer, if anything in that entry point's module graph imports one (at any depth, static or dynamic at load).
const REFUSE_PEERS = `export async function resolve(specifier, context, next) {
  if (${JSON.stringify(OPTIONAL_PEERS)}.includes(specifier)) throw new Error('optional peer loaded: ' + specifier);
  return next(specifier, context);
}`;
const REGISTER = `import { register } from 'node:module'; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(REFUSE_PEERS)}`)});`;

/** Imports `entry` (a source file, relative to the root) in a child process that refuses the optional peers. */
function importRefusingPeers(entry: string) {
  const url = new URL(entry, `file://${ROOT}`).href;
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--import', `data:text/javascript,${encodeURIComponent(REGISTER)}`, '--input-type=module', '-e', `await import(${JSON.stringify(url)}); console.log('imported');`],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return collect(child);
}

describe('entry points load only what they need', () => {
  it.each([
    ['reins', 'index.ts'],
    ['reins/persistence', 'persistence/index.ts'],
    ['reins/telemetry', 'agents/telemetry/index.ts'],
    ['reins/machines', 'machines/index.ts'],
    ['reins/guards', 'guards/index.ts'],
  ])('%s loads neither ioredis nor prom-client', async (_name, entry) => {
    const result = await importRefusingPeers(entry);
    expect(result.stderr).not.toContain('optional peer loaded');
    expect(result.stdout.trim()).toBe('imported');
    expect(result.code).toBe(0);
  });

  // The same harness catches a peer that is loaded: without these, the cases above could pass by never refusing anything.
  it.each([
    ['reins/redis', 'persistence/redis/index.ts', 'ioredis'],
    ['reins/metrics', 'agents/telemetry/metrics-index.ts', 'prom-client'],
  ])('%s (%s) loads %s', async (_name, entry, peer) => {
    const result = await importRefusingPeers(entry);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(`optional peer loaded: ${peer}`);
  });
});
