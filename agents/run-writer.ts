import type { Logger } from './logger.js';

/** How long a write may keep failing before the run is paused for it. */
export interface WriteRetryPolicy {
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** Failed attempts after which `onStalled` is called once (the run keeps retrying). */
  readonly stallAfter: number;
}

export const DEFAULT_WRITE_RETRY: WriteRetryPolicy = { baseDelayMs: 50, maxDelayMs: 2_000, stallAfter: 6 };

/**
 * The ordered write queue of one run. Writes happen one at a time, in order;
 * a newer snapshot replaces one still waiting (only the latest state matters),
 * while trace entries accumulate. `flushed()` resolves once everything queued
 * so far is durable: the call wrapper awaits it so that no external call
 * starts while the store is behind.
 */
export class RunWriter<S> {
  #pending: S | null = null;
  #trace: unknown[] = [];
  #running: Promise<void> | null = null;
  #stalled = false;
  #closed = false;
  readonly #write: (snapshot: S | null, trace: unknown[]) => Promise<void>;
  readonly #policy: WriteRetryPolicy;
  readonly #onStalled: (error: unknown) => void;
  readonly #onRecovered: () => void;
  readonly #fatal: (error: unknown) => boolean;
  readonly #logger: Logger;

  constructor(options: {
    write: (snapshot: S | null, trace: unknown[]) => Promise<void>;
    /** Errors no retry can fix (a lost lease, a stale version): the writer stops and reports them. */
    fatal: (error: unknown) => boolean;
    onFatal: (error: unknown) => void;
    onStalled: (error: unknown) => void;
    /** Writes go through again after a stall (the run paused for it may go on). */
    onRecovered?: () => void;
    logger: Logger;
    policy?: WriteRetryPolicy;
  }) {
    this.#write = options.write;
    this.#fatal = (e) => {
      if (!options.fatal(e)) return false;
      this.#closed = true;
      options.onFatal(e);
      return true;
    };
    this.#onStalled = options.onStalled;
    this.#onRecovered = options.onRecovered ?? (() => undefined);
    this.#logger = options.logger;
    this.#policy = options.policy ?? DEFAULT_WRITE_RETRY;
  }

  /** Queues a snapshot (replacing any snapshot not yet written). */
  snapshot(snapshot: S): void {
    if (this.#closed) return;
    this.#pending = snapshot;
    this.#kick();
  }

  /** Queues trace entries; they ride with the next snapshot write (a call is always followed by a transition). */
  trace(entry: unknown): void {
    if (this.#closed) return;
    this.#trace.push(entry);
  }

  /** Resolves when everything queued before this call is durable (or the writer was closed). */
  async flushed(): Promise<void> {
    while (this.#running) await this.#running;
  }

  /** Stops accepting writes; pending ones (trace entries included) still drain. */
  async close(): Promise<void> {
    if (this.#trace.length > 0) this.#kick();
    await this.flushed();
    this.#closed = true;
  }

  #kick(): void {
    if (this.#running) return;
    this.#running = this.#drain().finally(() => {
      this.#running = null;
      if (!this.#closed && (this.#pending !== null || this.#trace.length > 0)) this.#kick();
    });
  }

  async #drain(): Promise<void> {
    while (this.#pending !== null || this.#trace.length > 0) {
      let snapshot = this.#pending;
      let trace = this.#takeTrace();
      this.#pending = null;
      for (let attempt = 1; ; attempt++) {
        try {
          await this.#write(snapshot, trace);
          if (this.#stalled) {
            this.#stalled = false;
            this.#logger.info('store reachable again; queued writes are durable');
            this.#onRecovered();
          }
          break;
        } catch (error) {
          if (this.#fatal(error)) return;
          if (attempt === this.#policy.stallAfter && !this.#stalled) {
            this.#stalled = true;
            this.#onStalled(error);
          }
          await delay(Math.min(this.#policy.maxDelayMs, this.#policy.baseDelayMs * 2 ** (attempt - 1)));
          // Whatever was queued meanwhile rides along: a newer snapshot supersedes this one.
          if (this.#pending !== null) {
            snapshot = this.#pending;
            this.#pending = null;
          }
          trace = [...trace, ...this.#takeTrace()];
        }
      }
    }
  }

  #takeTrace(): unknown[] {
    const t = this.#trace;
    this.#trace = [];
    return t;
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
