import type { InspectionAdapter, StatelyEvent } from './inspect.js';

/** The part of a `ws` WebSocket this adapter uses. */
export interface RelaySocket {
  readonly readyState: number;
  send(data: string): void;
  terminate(): void;
  on(event: 'open' | 'close' | 'error', listener: () => void): void;
}

/** `ws`'s WebSocket constructor (Node 20 has no global WebSocket). */
export type RelaySocketClass = new (url: string) => RelaySocket;

const OPEN = 1;
/** Events held while disconnected, as @statelyai/inspect's own adapter holds them (oldest dropped first). */
const MAX_QUEUED = 200;
const RECONNECT_MS = 1_000;

/**
 * Sends inspection events to a Stately inspector relay over a WebSocket.
 * @statelyai/inspect's WebSocket adapter retries a failed connection every
 * 5 s even after stop() (its retry timer is neither kept nor cleared), so
 * a process inspecting a relay that is not up never exits; this one
 * retries on an unref'd timer and stops for good.
 */
export class RelayAdapter implements InspectionAdapter {
  readonly #url: string;
  readonly #Socket: RelaySocketClass;
  readonly #queue: string[] = [];
  #socket: RelaySocket | null = null;
  #retry: NodeJS.Timeout | null = null;
  #stopped = false;

  constructor(url: string, Socket: RelaySocketClass) {
    this.#url = url;
    this.#Socket = Socket;
  }

  start(): void {
    this.#stopped = false;
    if (!this.#socket) this.#connect();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#retry) clearTimeout(this.#retry);
    this.#retry = null;
    this.#socket?.terminate();
    this.#socket = null;
  }

  send(event: StatelyEvent): void {
    let text: string;
    try {
      text = JSON.stringify(event);
    } catch {
      return; // A context that cannot be serialised is not worth breaking a run over.
    }
    if (this.#socket?.readyState === OPEN) {
      this.#socket.send(text);
      return;
    }
    this.#queue.push(text);
    if (this.#queue.length > MAX_QUEUED) this.#queue.shift();
  }

  #connect(): void {
    const socket = new this.#Socket(this.#url);
    this.#socket = socket;
    socket.on('open', () => {
      for (const text of this.#queue.splice(0)) socket.send(text);
    });
    // 'close' follows every failure; the error itself needs a listener, or ws throws it.
    socket.on('error', () => undefined);
    socket.on('close', () => {
      if (this.#socket !== socket) return;
      this.#socket = null;
      if (this.#stopped) return;
      this.#retry = setTimeout(() => this.#connect(), RECONNECT_MS);
      this.#retry.unref();
    });
  }
}
