import { StaleVersionError, VersionConflictError } from '../persistence/errors.js';
import type { JournalEntry, RunRecord, TraceEntry } from '../persistence/records.js';
import type { CallWindow, CommitResult, RunCommit } from '../persistence/store.js';
import type { Logger } from './logger.js';

/** How long a write may keep failing before the run is paused for it. */
export interface WriteRetryPolicy {
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** Failed attempts after which `onStalled` is called once (the run keeps retrying). */
  readonly stallAfter: number;
}

export const DEFAULT_WRITE_RETRY: WriteRetryPolicy = { baseDelayMs: 50, maxDelayMs: 2_000, stallAfter: 6 };

/** A `started` waiting for the commit that carries it. */
interface PendingStart {
  readonly key: string;
  readonly step: number;
  readonly window: CallWindow | undefined;
  readonly resolve: (existing: JournalEntry | null) => void;
  readonly reject: (error: unknown) => void;
}

/** What the writer asks of its host: how to build the current record, and where commits go. */
export interface RunWriterOptions {
  readonly runId: string;
  /** The record of the run's current snapshot at `version`, built only when a commit goes out (a burst of transitions is one record). */
  readonly record: (version: number) => RunRecord;
  /** The stored version the next record follows. */
  readonly version: number;
  readonly commit: (commit: RunCommit) => Promise<CommitResult>;
  /** After a write was refused as stale: the version the store holds now (an earlier attempt of ours landed after all). */
  readonly storedVersion: () => Promise<number | null>;
  /** Errors no retry can fix (a lost lease, a stale version): the writer stops and reports them. */
  readonly fatal: (error: unknown) => boolean;
  readonly onFatal: (error: unknown) => void;
  readonly onStalled: (error: unknown) => void;
  /** Writes go through again after a stall (the run paused for it may go on). */
  readonly onRecovered?: () => void;
  /** Trimming is housekeeping: the journal below the record's step is dropped once the run has moved this many steps on. */
  readonly trimEvery: number;
  readonly logger: Logger;
  readonly policy?: WriteRetryPolicy;
}

/**
 * The ordered write queue of one run. Everything the run produces between
 * two writes (its latest snapshot, transcript steps, call results, trace
 * lines, a `started` checkpoint) goes to the store as ONE commit, and one
 * commit at a time: while a commit is in flight the next one accumulates,
 * so a fast run writes in groups and a slow store never sees more than one
 * write per run at once. Only the latest snapshot matters, so it is built
 * when its commit leaves, not at every transition.
 */
export class RunWriter {
  #dirty = false;
  #idleKick = false;
  #transcript: RunCommit['transcript'][number][] = [];
  #done: RunCommit['journalDone'][number][] = [];
  #trace: TraceEntry[] = [];
  #starts: PendingStart[] = [];
  /** Ids of commands the run has applied, acknowledged by the next commit (whose record holds their effect). */
  #acks: string[] = [];
  #version: number;
  #trimmedBelow = 0;
  #running: Promise<void> | null = null;
  #stalled = false;
  #closed = false;
  /** Checkpoints are no longer granted (close with holdStarts). */
  #holding = false;
  readonly #o: RunWriterOptions;
  readonly #policy: WriteRetryPolicy;

  constructor(options: RunWriterOptions) {
    this.#o = options;
    this.#version = options.version;
    this.#policy = options.policy ?? DEFAULT_WRITE_RETRY;
  }

  /** The version of the last record the store took. */
  get version(): number {
    return this.#version;
  }

  /**
   * The run's snapshot changed. It is written when a call asks for
   * durability, or once the run goes idle (nothing left to do in this tick):
   * the transitions of a turn whose tool has no side effect (into `acting`,
   * the tool, back to `planning`) then leave as one commit, and a snapshot no
   * call waits on (an approval, a timer, a pause) is still stored promptly.
   */
  touch(): void {
    if (this.#closed) return;
    this.#dirty = true;
    if (this.#idleKick) return;
    this.#idleKick = true;
    setImmediate(() => {
      this.#idleKick = false;
      this.#kick();
    });
  }

  /*
   * Trace entries, transcript steps and results do not start a write of their
   * own: the transition that follows a call always does, and they ride with it
   * (close() drains whatever is left).
   */

  /** Queues trace entries. */
  trace(entry: unknown): void {
    if (this.#closed) return;
    this.#trace.push(entry as TraceEntry);
  }

  /** Queues one model step's messages. */
  transcript(step: number, messages: readonly unknown[]): void {
    if (this.#closed) return;
    this.#transcript.push({ step, messages });
  }

  /** Queues a finished call's result. */
  done(key: string, step: number, result: unknown): void {
    if (this.#closed) return;
    this.#done.push({ key, step, result });
  }

  /**
   * A queued command was applied to the run: it leaves the store's queue with
   * the next commit, whose record is built after it and so holds its effect.
   */
  acknowledge(commandId: string): void {
    if (this.#closed) return;
    this.#acks.push(commandId);
    this.#kickSoon();
  }

  /**
   * Checkpoint before action: resolves once `started` for `key` is durable,
   * together with everything queued before it (the snapshot that holds the
   * call included), with the key's existing entry when it had one.
   */
  start(key: string, step: number, window?: CallWindow): Promise<JournalEntry | null> {
    if (this.#closed) return Promise.reject(new Error(`run ${this.#o.runId}: its writer is closed`));
    // Being handed back: the call never gets its checkpoint, so it never acts; stopping the run aborts its wait.
    if (this.#holding) return new Promise(() => undefined);
    return new Promise((resolve, reject) => {
      this.#starts.push({ key, step, window, resolve, reject });
      this.#kickSoon();
    });
  }

  /** Resolves when everything queued before this call is durable (or the writer was closed). */
  async flushed(): Promise<void> {
    await this.#transitionTold();
    if (this.#hasQueued()) this.#kick();
    while (this.#running) await this.#running;
  }

  /**
   * Resolves once the store is at most one commit behind: nothing waits
   * behind the commit in flight. A call that needs no checkpoint starts
   * then, so a crash repeats at most the calls since that commit.
   */
  async caughtUp(): Promise<void> {
    await this.#transitionTold();
    while (this.#running && this.#hasQueued()) await this.#running;
  }

  /**
   * Stops at once, writing nothing more (what is queued is dropped, a commit being retried is not sent again):
   * the run was fenced here, and only a new holding of its lease may write it now.
   */
  abandon(error: unknown): void {
    this.#closed = true;
    this.#dirty = false;
    this.#transcript = [];
    this.#done = [];
    this.#trace = [];
    this.#acks = [];
    this.#failStarts(error);
  }

  /**
   * Stops accepting writes; what is queued (trace entries included) still
   * drains. With `holdStarts`, a call asking for its checkpoint from now on
   * waits forever instead (a run handed back between calls: the call it was
   * about to make is its next host's).
   */
  async close(options: { holdStarts?: boolean } = {}): Promise<void> {
    if (options.holdStarts) this.#holding = true;
    if (this.#hasQueued()) this.#kick();
    await this.flushed();
    this.#closed = true;
    this.#failStarts(new Error(`run ${this.#o.runId}: its writer is closed`));
  }

  #hasQueued(): boolean {
    return this.#dirty || this.#transcript.length > 0 || this.#done.length > 0 || this.#trace.length > 0 || this.#starts.length > 0 || this.#acks.length > 0;
  }

  /**
   * XState starts a state's actors before it tells observers about the
   * transition, so a call asks its writer for durability before touch() has
   * marked the snapshot that holds it. Waiting one microtask lets the
   * transition be told first: the snapshot rides in the same commit as the
   * call's `started` (checkpoint before action) and as the results before it.
   */
  #transitionTold(): Promise<void> {
    return Promise.resolve();
  }

  #kickSoon(): void {
    queueMicrotask(() => this.#kick());
  }

  #kick(): void {
    if (this.#running || this.#closed) return;
    this.#running = this.#drain().finally(() => {
      this.#running = null;
      if (!this.#closed && this.#hasQueued()) this.#kick();
    });
  }

  async #drain(): Promise<void> {
    while (this.#hasQueued()) {
      // Parts taken now leave together; what is queued while they are in flight forms the next commit.
      const transcript = this.#transcript;
      const journalDone = this.#done;
      const trace = this.#trace;
      const start = this.#starts.shift() ?? null;
      this.#transcript = [];
      this.#done = [];
      this.#trace = [];
      for (let attempt = 1; ; attempt++) {
        if (this.#closed && attempt > 1) {
          start?.reject(new Error(`run ${this.#o.runId}: its writer was abandoned`));
          return;
        }
        // Taken with the record, which is built after them: the commit that acknowledges a command stores its effect.
        const ackCommands = this.#acks;
        this.#acks = [];
        const record = this.#dirty ? this.#o.record(this.#version + 1) : null;
        this.#dirty = false;
        const step = record?.summary.step ?? 0;
        const trim = record !== null && step >= this.#trimmedBelow + this.#o.trimEvery;
        try {
          const result = await this.#o.commit({
            runId: this.#o.runId,
            transcript,
            journalDone,
            record,
            trace,
            journalStart: start && { key: start.key, step: start.step, ...(start.window ? { window: start.window } : {}) },
            trimBelow: trim ? step : null,
            ackCommands,
          });
          if (record) this.#version = record.version;
          if (trim) this.#trimmedBelow = step;
          start?.resolve(result.existing);
          if (this.#stalled) {
            this.#stalled = false;
            this.#o.logger.info({ runId: this.#o.runId }, 'store reachable again; queued writes are durable');
            this.#o.onRecovered?.();
          }
          break;
        } catch (error) {
          // The snapshot is rebuilt for the retry: the newest state supersedes the one that failed (and holds these commands' effects).
          if (record) this.#dirty = true;
          this.#acks = [...ackCommands, ...this.#acks];
          if (error instanceof StaleVersionError && record) {
            const stored = await this.#o.storedVersion().catch(() => null);
            // Under our lease only we write, so the store holds either our last version or the one this attempt
            // wrote (its reply was lost): anything else is another writer, a conflict no retry can mend.
            if (stored === record.version) this.#version = stored;
            else if (stored !== null && stored !== this.#version) error = new VersionConflictError(this.#o.runId, this.#version, stored);
          }
          if (this.#o.fatal(error)) {
            this.#closed = true;
            start?.reject(error);
            this.#failStarts(error);
            this.#o.onFatal(error);
            return;
          }
          if (attempt === this.#policy.stallAfter && !this.#stalled) {
            this.#stalled = true;
            this.#o.onStalled(error);
          }
          await delay(Math.min(this.#policy.maxDelayMs, this.#policy.baseDelayMs * 2 ** (attempt - 1)));
          // Whatever was queued meanwhile rides along (a retry may repeat trace lines, never lose them).
          transcript.push(...this.#transcript);
          journalDone.push(...this.#done);
          trace.push(...this.#trace);
          this.#transcript = [];
          this.#done = [];
          this.#trace = [];
        }
      }
    }
  }

  #failStarts(error: unknown): void {
    for (const s of this.#starts.splice(0)) s.reject(error);
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
