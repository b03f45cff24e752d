import type { Message } from '../machines/model-types.js';
import type { JournalEntry, Lease } from '../persistence/records.js';
import type { SnapshotStore } from '../persistence/store.js';
import type { TranscriptStore } from '../persistence/transcript.js';
import type { CallJournal, CallKind, JournalLookup } from './call-journal.js';
import { raceAbort } from './race-abort.js';
import type { RunWriter } from './run-writer.js';

/** The run's current lease, read at each call (renewals replace it). */
export type LeaseSource = () => Lease;

/** How often a call that waits for a renewed lease looks again. */
const LEASE_WAIT_MS = 20;

/**
 * The journal of one run, written through its RunWriter (see CallKind): a
 * call that acts waits for its checkpoint (the snapshot that holds it and
 * `started`, durable in one commit); a billed call waits until everything
 * before it is durable; a pure call waits only while the store is more than
 * one commit behind. Results ride with the next commit.
 */
export class StoreJournal implements CallJournal {
  /**
   * Entries this process recorded at the run's current step. Under our lease nobody else writes this
   * journal, so for a run we created this is all of it that matters: keys name their step, and a run
   * never goes back to an earlier one (retries and resumes repeat the current step's keys).
   */
  readonly #known = new Map<string, { readonly done: boolean; readonly result?: unknown }>();
  #step = -1;

  constructor(
    private readonly writer: RunWriter,
    private readonly lease: LeaseSource,
    /** A restored run's journal may hold entries from before the restore: its lookups ask the store. */
    private readonly fresh: boolean,
    /** Self-fencing: a call that acts starts only on a lease with at least this much time left. */
    private readonly safetyMarginMs: number,
    /** The clock the lease's expiry is read against (the store's). */
    private readonly now: () => number = Date.now,
  ) {}

  async begin(key: string, step: number, signal: AbortSignal, kind: CallKind, timeoutMs = 0): Promise<JournalLookup> {
    this.#at(step);
    const known = this.#known.get(key);
    if (known?.done) return { kind: 'done', result: known.result };
    if (kind !== 'acts' && this.fresh) {
      await raceAbort(kind === 'pure' ? this.writer.caughtUp() : this.writer.flushed(), signal);
      return { kind: 'fresh' };
    }
    if (kind === 'acts') await this.#leaseWithMargin(signal);
    const existing = await raceAbort(this.writer.start(key, step, kind === 'acts' ? { leaseExpiresAt: this.lease().expiresAt, timeoutMs } : undefined), signal);
    this.#known.set(key, { done: false });
    return this.#lookup(existing);
  }

  /** Records the call's result (a failure result too: a replay must see the same outcome). */
  async finish(key: string, step: number, result: unknown): Promise<void> {
    this.#at(step);
    this.#known.set(key, { done: true, result });
    this.writer.done(key, step, result);
  }

  /** Forgets the entries of earlier steps once the run has moved on (a long run would otherwise keep every result). */
  #at(step: number): void {
    if (step <= this.#step) return;
    this.#step = step;
    this.#known.clear();
  }

  /**
   * A lease about to run out is one this worker may already have lost without knowing (a renewal that does
   * not come back): nothing that acts starts on it. The renewal loop either extends it or fences the run,
   * which aborts `signal`.
   */
  async #leaseWithMargin(signal: AbortSignal): Promise<void> {
    while (this.lease().expiresAt - this.now() < this.safetyMarginMs) {
      await raceAbort(new Promise((resolve) => setTimeout(resolve, LEASE_WAIT_MS)), signal);
    }
  }

  #lookup(entry: JournalEntry | null): JournalLookup {
    if (entry === null) return { kind: 'fresh' };
    if (entry.status === 'done') return { kind: 'done', result: entry.result };
    // Our own `started`, under the same lease: a retried write whose first reply was lost, not a crashed call
    // (a process that crashed had its lease taken over, and every new holder gets a higher token).
    if (entry.token === this.lease().token) return { kind: 'fresh' };
    // An entry written before windows were recorded names no window: its writer is long gone.
    return { kind: 'interrupted', closesAt: entry.leaseExpiresAt === undefined ? entry.at : entry.leaseExpiresAt + (entry.timeoutMs ?? 0) };
  }
}

/**
 * The run's transcript in the store, cached in memory so that a model call
 * costs no read of the whole history; steps go out with the run's commits.
 */
export class StoreTranscript implements TranscriptStore<Message> {
  #cache: Message[] | null;
  #lastStep = -1;
  /** Whether the cache ends exactly where the store's transcript ends (not known after a restore until the first append). */
  #tailKnown: boolean;

  constructor(
    private readonly store: SnapshotStore,
    private readonly writer: RunWriter,
    /** A new run's transcript is empty; a restored one's is read from the store on first use. */
    fresh: boolean,
  ) {
    this.#cache = fresh ? [] : null;
    this.#tailKnown = fresh;
  }

  async appendStep(runId: string, step: number, messages: readonly Message[]): Promise<void> {
    if (step <= this.#lastStep) return;
    this.#lastStep = step;
    this.writer.transcript(step, messages);
    if (this.#cache !== null && this.#tailKnown) {
      this.#cache.push(...messages);
      return;
    }
    // After a restore the store may already have had this step (it ignores the repeat): read what it holds rather than guess.
    await this.writer.flushed();
    this.#cache = (await this.store.transcriptRead(runId)) as Message[];
    this.#tailKnown = true;
  }

  async read(runId: string): Promise<readonly Message[]> {
    this.#cache ??= (await this.store.transcriptRead(runId)) as Message[];
    return this.#cache;
  }
}
