/**
 * Watch live runs in the Stately inspector (a manual check, not a test):
 *
 *   npx tsx test/telemetry/watch-inspector.ts [--port 8080] [--runs 3] [--tail]
 *
 * Starts the inspector's relay on the port and runs a slow scripted support
 * agent under a Supervisor whose `inspect` option is the inspector's. Open
 * http://localhost:<port> in a browser: the page embeds the Stately inspector
 * UI from https://stately.ai/inspect, so the browser needs internet. With
 * `--tail` this process also joins the relay as a client and prints one line
 * per state change, which works with no internet at all.
 */
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { defineAgent, scriptedModel, tool } from '../../index.js';
import { Supervisor } from '../../agents/supervisor.js';
import { loadStatelyInspect, statelyInspector, type StatelyEvent } from '../../agents/telemetry/index.js';
import { MemoryStore } from '../../persistence/memory-store.js';

const { values } = parseArgs({ options: { port: { type: 'string', default: '8080' }, runs: { type: 'string', default: '3' }, tail: { type: 'boolean', default: false } } });
const port = Number(values.port);
const runs = Number(values.runs);

const inspector = await statelyInspector({ target: { kind: 'server', port } });
console.log(`inspector relay: ${inspector.url} (open it in a browser; the UI it embeds is https://stately.ai/inspect)`);

if (values.tail) {
  const { Socket } = await loadStatelyInspect();
  const client = new Socket(`ws://localhost:${port}`) as InstanceType<typeof Socket> & { on(event: 'message', listener: (data: Buffer) => void): void };
  client.on('message', (data) => {
    const event = JSON.parse(data.toString()) as StatelyEvent;
    if (event.type !== '@xstate.snapshot' || event.rootId !== event.sessionId) return; // the run's own actor, not its calls
    const runId = (event.snapshot?.context as { runId?: string } | undefined)?.runId ?? event.sessionId;
    console.log(`  ${runId}  ${event.event?.type}  →  ${JSON.stringify(event.snapshot?.value)}`);
  });
}

const lookup = tool({
  name: 'lookup_order',
  description: 'Status of an order',
  input: z.object({ orderId: z.string() }),
  sideEffect: 'none',
  run: async ({ orderId }) => {
    await new Promise((resolve) => setTimeout(resolve, 800));
    return { orderId, status: 'shipped' };
  },
});
const support = defineAgent({
  id: 'support',
  goal: 'Where is order 42?',
  model: scriptedModel([{ call: 'lookup_order', args: { orderId: '42' } }, { answer: 'Order 42 has shipped.' }], { latencyMs: 1_200 }),
  tools: [lookup],
});

// Give a browser a moment to connect; the relay also replays its last 200 events to late joiners.
await new Promise((resolve) => setTimeout(resolve, 2_000));
const supervisor = await Supervisor.open({ store: new MemoryStore(), agents: [support], inspect: inspector.inspect });
for (let i = 1; i <= runs; i++) {
  const run = await supervisor.start('support', { runId: `watch-${i}` });
  console.log(`${run.runId}: ${(await run.outcome).reason}`);
}
await supervisor.close();
await new Promise((resolve) => setTimeout(resolve, 500));
inspector.stop();
// Browser tabs keep their connection to the relay open; the demo is over.
process.exit(0);
