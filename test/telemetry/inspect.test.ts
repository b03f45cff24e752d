import { createServer } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Supervisor } from '../../agents/supervisor.js';
import {
  InspectorPortInUseError,
  InspectorUnavailableError,
  inspectionSerializer,
  loadStatelyInspect,
  statelyInspector,
  type StatelyEvent,
  type StatelyInspector,
} from '../../agents/telemetry/inspect.js';
import { RelayAdapter, type RelaySocket } from '../../agents/telemetry/relay-adapter.js';
import { MemoryStore } from '../../persistence/memory-store.js';
import { until } from '../support/tools.js';
import { research, runIdFor, support } from './fleet.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  vi.useRealTimers();
  while (cleanups.length) await cleanups.pop()!();
});

/** The lifecycle state a snapshot's value names (its deepest active leaf of the work region, or the final state). */
function leaf(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  const running = (value as { running?: { work?: unknown } }).running;
  let node: unknown = running?.work ?? value;
  while (node && typeof node === 'object') node = Object.values(node)[0];
  return String(node);
}

/** Runs one `completed` scenario on a Supervisor whose `inspect` option is the inspector's. */
async function inspectedRun(inspector: StatelyInspector) {
  const supervisor = await Supervisor.open({ store: new MemoryStore(), agents: [support, research], workerId: 'inspected', inspect: inspector.inspect });
  cleanups.push(() => supervisor.close({ timeoutMs: 100 }));
  const run = await supervisor.start('support', { runId: runIdFor('completed') });
  expect((await run.outcome).reason).toBe('COMPLETED');
  return run;
}

describe('statelyInspector', () => {
  it("forwards the run actor's @xstate.actor, @xstate.event and @xstate.snapshot events to its adapter, secrets redacted", async () => {
    const events: StatelyEvent[] = [];
    const inspector = await statelyInspector({ target: { kind: 'adapter', adapter: { send: (e) => events.push(e) } } });
    cleanups.push(() => inspector.stop());
    expect(inspector.url).toBeNull();
    const run = await inspectedRun(inspector);
    // @statelyai/inspect converts events on a timer after XState reports them.
    const mine = () => events.filter((e) => e.sessionId === run.actor.sessionId);
    await until(() => mine().some((e) => e.type === '@xstate.snapshot' && leaf(e.snapshot?.value) === 'completed'));

    expect(mine().filter((e) => e.type === '@xstate.actor')).toHaveLength(1);
    const states = mine().filter((e) => e.type === '@xstate.snapshot').map((e) => leaf(e.snapshot?.value));
    expect(states).toEqual(expect.arrayContaining(['planning', 'acting', 'completed']));
    const received = mine().filter((e) => e.type === '@xstate.event').map((e) => e.event?.type);
    expect(received[0]).toBe('xstate.init');
    expect(received.filter((t) => t?.startsWith('xstate.done.actor.')).length).toBeGreaterThanOrEqual(3);
    // The invoked calls (model, tool) are actors of the same system: the inspector draws them as its children.
    expect(events.some((e) => e.type === '@xstate.actor' && e.sessionId !== run.actor.sessionId && e.rootId === run.actor.sessionId)).toBe(true);
    // The tool's apiKey argument is in the context as an object and as JSON text: redacted in both.
    const text = JSON.stringify(events);
    expect(text).toContain('[redacted]');
    expect(text).not.toContain('sekrit-key');
  });

  it('sends everything when told to (so the redaction above is what hid the secret)', async () => {
    const events: StatelyEvent[] = [];
    const inspector = await statelyInspector({ target: { kind: 'adapter', adapter: { send: (e) => events.push(e) } }, secretKeys: [] });
    cleanups.push(() => inspector.stop());
    const run = await inspectedRun(inspector);
    await until(() => events.some((e) => e.sessionId === run.actor.sessionId && leaf(e.snapshot?.value) === 'completed'));
    expect(JSON.stringify(events)).toContain('sekrit-key');
  });

  it('without internet: starts the local relay, whose page embeds the Stately UI, and relays the run to a WebSocket client', async () => {
    const port = await freePort();
    const inspector = await statelyInspector({ target: { kind: 'server', port } });
    cleanups.push(() => inspector.stop());
    expect(inspector.url).toBe(`http://localhost:${port}`);
    const page = await (await fetch(inspector.url!)).text();
    expect(page).toContain('<iframe id="inspector" src="https://stately.ai/inspect">');
    expect(page).toContain(`new WebSocket('ws://localhost:${port}')`);

    // A client of the relay, as the page's script is: it receives what the inspector sends.
    const { Socket } = await loadStatelyInspect();
    const client = new Socket(`ws://localhost:${port}`) as RelaySocket & { on(event: 'message', listener: (data: Buffer) => void): void };
    cleanups.push(() => client.terminate());
    const relayed: StatelyEvent[] = [];
    client.on('message', (data) => relayed.push(JSON.parse(data.toString()) as StatelyEvent));
    await until(() => client.readyState === 1);

    const run = await inspectedRun(inspector);
    await until(() => relayed.some((e) => e.sessionId === run.actor.sessionId && e.type === '@xstate.snapshot' && leaf(e.snapshot?.value) === 'completed'));
    expect(relayed.some((e) => e.sessionId === run.actor.sessionId && e.type === '@xstate.actor')).toBe(true);
  });

  it('refuses a taken port with a typed error instead of crashing the process', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, resolve));
    cleanups.push(() => new Promise((resolve) => taken.close(resolve)));
    const port = (taken.address() as { port: number }).port;
    await expect(statelyInspector({ target: { kind: 'server', port } })).rejects.toBeInstanceOf(InspectorPortInUseError);
  });

  it('says @statelyai/inspect is not installed with a typed error; other load failures pass through', async () => {
    const missing = Object.assign(new Error("Cannot find package '@statelyai/inspect'"), { code: 'ERR_MODULE_NOT_FOUND' });
    const error = await loadStatelyInspect(() => Promise.reject(missing)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InspectorUnavailableError);
    expect((error as InspectorUnavailableError).kind).toBe('inspector-unavailable');
    expect((error as Error).cause).toBe(missing);
    const other = new SyntaxError('broken build');
    await expect(loadStatelyInspect(() => Promise.reject(other))).rejects.toBe(other);
  });
});

describe('RelayAdapter', () => {
  /** A socket class whose instances the test opens, closes and reads. */
  function fakeSockets() {
    const made: Array<{ readyState: number; sent: string[]; listeners: Map<string, () => void>; terminated: boolean }> = [];
    class FakeSocket implements RelaySocket {
      readyState = 0;
      readonly state = { readyState: 0, sent: [] as string[], listeners: new Map<string, () => void>(), terminated: false };
      constructor() {
        made.push(this.state);
      }
      send(data: string) {
        this.state.sent.push(data);
      }
      terminate() {
        this.state.terminated = true;
      }
      on(event: string, listener: () => void) {
        this.state.listeners.set(event, listener);
        if (event === 'open') this.state.listeners.set('open', () => ((this.readyState = 1), listener()));
      }
    }
    return { FakeSocket, made };
  }
  const event = (n: number): StatelyEvent => ({ type: '@xstate.event', sessionId: 'x', rootId: 'x', event: { type: `E${n}` } });

  it('queues while disconnected (at most 200), flushes on open, retries a lost connection, and stops for good', () => {
    vi.useFakeTimers();
    const { FakeSocket, made } = fakeSockets();
    const adapter = new RelayAdapter('ws://relay', FakeSocket);
    adapter.start();
    expect(made).toHaveLength(1);
    for (let n = 0; n < 250; n++) adapter.send(event(n));
    made[0]!.listeners.get('open')!();
    expect(made[0]!.sent).toHaveLength(200);
    expect(JSON.parse(made[0]!.sent[0]!).event.type).toBe('E50');

    made[0]!.listeners.get('close')!();
    vi.advanceTimersByTime(1_000);
    expect(made).toHaveLength(2);
    adapter.stop();
    expect(made[1]!.terminated).toBe(true);
    made[1]!.listeners.get('close')!();
    vi.advanceTimersByTime(60_000);
    expect(made).toHaveLength(2);
    expect(vi.getTimerCount()).toBe(0);
  });
});

/** A port nothing listens on right now. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('inspectionSerializer', () => {
  it('redacts secret keys at any depth and inside JSON text, whole or cut short, and survives what JSON cannot hold', () => {
    const serialize = inspectionSerializer(['apiKey', 'password']);
    const event = {
      type: '@xstate.snapshot',
      sessionId: 's',
      rootId: 's',
      snapshot: {
        context: {
          nested: { APIKEY: 'a1', keep: 'visible' },
          arguments: '{"id":"1","apiKey":"a2","n":{"password":"p1"}}',
          label: 'lookup {"id":"1","apiKey":"a3","extra":"cut sho',
          cut: 'lookup {"password":"p2-cut-sh',
          number: '{"apiKey": 12345}',
        },
      },
    } as StatelyEvent;
    const text = JSON.stringify(serialize(event));
    for (const secret of ['a1', 'a2', 'a3', 'p1', 'p2-cut-sh', '12345']) expect(text).not.toContain(secret);
    expect(text).toContain('visible');
    expect((serialize(event).snapshot as { context: { arguments: string } }).context.arguments).toBe('{"id":"1","apiKey":"[redacted]","n":{"password":"[redacted]"}}');

    const cyclic: Record<string, unknown> = { type: 'x' };
    cyclic.self = cyclic;
    expect(serialize({ type: '@xstate.event', sessionId: 's', rootId: undefined, event: cyclic as { type: string } })).toEqual({ type: '@xstate.event', sessionId: 's', rootId: undefined });
  });
});
