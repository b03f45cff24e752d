import type { Message } from '../machines/model-types.js';
import { StaleLeaseError, StoreError } from '../persistence/errors.js';
import type { SnapshotStore } from '../persistence/store.js';
import type { TranscriptStore } from '../persistence/transcript.js';
import type { CallJournal, JournalLookup } from './call-journal.js';
import type { Logger } from './logger.js';

/** The run's current lease token, read at each write (it survives renewals). */
export type TokenSource = () => number;

/**
 * Retries a store operation until it succeeds, the call is aborted, or the
 * lease is lost: a durable run waits for its store instead of running ahead.
 */
async function persistently<T>(what: string, op: () => Promise<T>, signal: AbortSignal | null, logger: Logger): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await op();
    } catch (error) {
      if (error instanceof StaleLeaseError || !(error instanceof StoreError) || error.kind !== 'store-unavailable') throw error;
      if (signal?.aborted) throw signal.reason;
      if (attempt === 1 || attempt % 10 === 0) logger.warn({ err: error.message, attempt, what }, 'store unavailable; waiting');
      await new Promise((resolve) => setTimeout(resolve, Math.min(2_000, 50 * 2 ** Math.min(attempt, 6))));
    }
  }
}

/** The journal of one run in a SnapshotStore, behind its snapshot writes. */
export class StoreJournal implements CallJournal {
  constructor(
    private readonly store: SnapshotStore,
    private readonly runId: string,
    private readonly token: TokenSource,
    /** Resolves once the run's queued snapshots are durable. */
    private readonly flushed: () => Promise<void>,
    private readonly logger: Logger,
  ) {}

  /** Checkpoint before action: the snapshot first, then `started`. */
  async begin(key: string, step: number, signal: AbortSignal): Promise<JournalLookup> {
    await this.flushed();
    const entry = await persistently('journal start', () => this.store.journalStart(this.runId, key, step, { leaseToken: this.token() }), signal, this.logger);
    if (entry === null) return { kind: 'fresh' };
    if (entry.status === 'done') return { kind: 'done', result: entry.result };
    // Our own `started`, under the same lease: a retried write whose first reply was lost, not a crashed call
    // (a process that crashed had its lease taken over, and every new holder gets a higher token).
    return entry.token === this.token() ? { kind: 'fresh' } : { kind: 'interrupted' };
  }

  /** Records the call's result (a failure result too: a replay must see the same outcome). */
  async finish(key: string, step: number, result: unknown): Promise<void> {
    await persistently('journal done', () => this.store.journalDone(this.runId, key, step, result, { leaseToken: this.token() }), null, this.logger);
  }
}

/**
 * The run's transcript in the store, cached in memory so that a model call
 * costs one append, not a read of the whole history.
 */
export class StoreTranscript implements TranscriptStore<Message> {
  #cache: Message[] | null;
  #lastStep = -1;
  /** Whether the cache ends exactly where the store's transcript ends. */
  #tailKnown: boolean;

  constructor(
    private readonly store: SnapshotStore,
    private readonly token: TokenSource,
    private readonly logger: Logger,
    /** A new run's transcript is empty; a restored run's is read from the store on first use. */
    fresh: boolean,
  ) {
    this.#cache = fresh ? [] : null;
    this.#tailKnown = fresh;
  }

  async appendStep(runId: string, step: number, messages: readonly Message[]): Promise<void> {
    if (step <= this.#lastStep) return;
    await persistently('transcript append', () => this.store.transcriptAppend(runId, step, messages, { leaseToken: this.token() }), null, this.logger);
    this.#lastStep = step;
    // After a restore the store may already have had this step (it ignores the repeat): re-read rather than guess.
    if (this.#cache !== null && this.#tailKnown) this.#cache.push(...messages);
    else this.#cache = null;
    this.#tailKnown = true;
  }

  async read(runId: string): Promise<readonly Message[]> {
    this.#cache ??= (await this.store.transcriptRead(runId)) as Message[];
    return this.#cache;
  }
}
