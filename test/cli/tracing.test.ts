import { createServer, type IncomingMessage } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Supervisor } from '../../agents/supervisor.js';
import { FileStore } from '../../persistence/file-store.js';
import { agents } from '../console/agents.js';
import { collect, spawnReins, waitForOutput } from './run-cli.js';

const body = (req: IncomingMessage) =>
  new Promise<string>((resolve) => {
    let text = '';
    req.on('data', (d: Buffer) => (text += d.toString()));
    req.on('end', () => resolve(text));
  });

describe('reins worker with OTEL_EXPORTER_OTLP_ENDPOINT', () => {
  it("sends the runs' GenAI spans over OTLP/HTTP as OTEL_SERVICE_NAME, flushed when it stops", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'reins-otlp-'));
    const exports: Array<{ path: string; text: string }> = [];
    // A stand-in for the OpenTelemetry Collector: it records what the exporter posts.
    const collector = createServer((req, res) => {
      void body(req).then((text) => {
        exports.push({ path: req.url ?? '', text });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
    const { port } = collector.address() as { port: number };
    let worker: ReturnType<typeof spawnReins> | undefined;
    try {
      const store = await FileStore.open(dir);
      const first = await Supervisor.open({ store, agents });
      await first.start('crawler', { runId: 'traced', input: 'Index every page.' });
      await first.close();
      await store.close();
      worker = spawnReins(['worker', '--store', dir, '--agents', 'test/console/agents.ts', '--recover-every', '200'], {
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
        OTEL_SERVICE_NAME: 'reins-under-test',
      });
      const done = collect(worker);
      await waitForOutput(worker, (out) => out.includes(`spans to http://127.0.0.1:${port} as reins-under-test`) && out.includes('took over traced'), 60_000);
      const reader = new FileStore({ dir });
      await expect.poll(async () => (await reader.load('traced'))!.summary.step, { timeout: 30_000 }).toBeGreaterThan(3);
      await reader.close();
      worker.kill('SIGINT');
      const result = await done;
      expect(result.code).toBe(0);
      const traces = exports.filter((e) => e.path === '/v1/traces').map((e) => e.text).join('\n');
      expect(traces).toContain('reins-under-test');
      expect(traces).toContain('execute_tool fetch_page');
      expect(traces).toContain('chat sim-1');
      expect(traces).toContain('"gen_ai.tool.name"');
    } finally {
      if (worker && worker.exitCode === null && worker.signalCode === null) worker.kill('SIGKILL');
      await new Promise<void>((resolve) => collector.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
