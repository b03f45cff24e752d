import type { z } from 'zod';
import type { Limits } from '../guards/budget.js';
import { ZERO_USAGE } from '../guards/usage.js';
import { TerminalOutcome, toErrorInfo } from '../machines/outcome.js';
import { RunExistsError, StoreError } from '../persistence/errors.js';
import type { RunRecord } from '../persistence/records.js';
import { ReinsError } from './errors.js';
import { Cancellation } from './fan-out.js';
import type { Logger } from './logger.js';
import { raceAbort } from './race-abort.js';

export { childRunId } from '../machines/pipeline-context.js';

/** One child run: its (deterministic) id, the registered agent or pipeline it runs, and how. */
export interface ChildSpec {
  readonly runId: string;
  readonly agentId: string;
  readonly input?: unknown;
  readonly limits?: z.input<typeof Limits>;
  readonly seed?: number;
}

/**
 * What a hosted run can do with children. The Supervisor gives one to every
 * run it hosts (pipeline stages use it; so can a sub-agent tool). Children
 * are first-class durable runs with `parentId` set.
 */
export interface ChildRuns {
  /**
   * Starts the child, or attaches to it when it exists (a restored parent
   * finds its children again by id): a child that ended gives its stored
   * outcome, one hosted here is awaited, one hosted elsewhere is watched in
   * the store, one nobody hosts is rehydrated here. Resolves with the child's
   * TerminalOutcome. Aborting `signal` kills the child (why names the parent)
   * and resolves once it is terminal; rejects with ChildNotStartedError when
   * the signal aborted before the child existed.
   */
  run(spec: ChildSpec, signal: AbortSignal): Promise<TerminalOutcome>;
}

/** The signal aborted before the child run was created: there is nothing to cancel. */
export class ChildNotStartedError extends ReinsError {
  constructor(runId: string) {
    super('child-not-started', `child run ${runId} was not started: its parent left first`);
  }
}

/** The parent stopped being hosted here (shutdown, lost lease): its children are left to its next owner, not cancelled. */
export class ScopeDetachedError extends ReinsError {
  constructor(parentId: string) {
    super('scope-detached', `run ${parentId} is no longer hosted here; its children are left running for its next owner`);
  }
}

/** The Supervisor's side of child runs: where they are, and how to start, adopt and kill them. */
export interface ChildHost {
  /** How often a child hosted elsewhere is looked at in the store. */
  readonly pollMs: number;
  /** A child hosted by this process: its outcome, or 'gone' if it stops being hosted here without one. Null when not hosted here. */
  hostedOutcome(runId: string): Promise<TerminalOutcome | 'gone'> | null;
  load(runId: string): Promise<RunRecord | null>;
  /** Creates the child run and hosts it here; RunExistsError when the id is taken. */
  start(spec: ChildSpec, parentId: string): Promise<void>;
  /**
   * Hosts the run here when no live worker owns it; false when another does
   * (or, on a fleet, always: the child's own slice jobs host it, and this makes
   * sure a child created without its first job gets one).
   */
  adopt(record: RunRecord): Promise<boolean>;
  kill(runId: string, by: string, why: string): Promise<void>;
  /** Whether nobody holds the run's lease (a kill is then applied in the store). */
  leaseFree(runId: string): Promise<boolean>;
}

const ABORTED = Symbol('aborted');

/** Marks the calling child call as waiting on its child until `wait` settles (and rethrows what `wait` throws). */
type Park = (wait: Promise<unknown>) => Promise<void>;

/**
 * The children of one hosted run. Tracks every child call in flight so that
 * the parent's outcome resolves only after its children are terminal; holds
 * back new children while the parent is paused; lets go without cancelling
 * when the parent is handed back to the store.
 */
export class ChildScope implements ChildRuns {
  readonly #inFlight = new Set<Promise<unknown>>();
  readonly #parentId: string;
  readonly #host: ChildHost;
  readonly #flushed: () => Promise<void>;
  readonly #exit: () => string;
  readonly #logger: Logger;
  /** Child calls waiting on a child run hosted by someone else (another slice, another worker), by child run id. */
  readonly #parked = new Map<Promise<unknown>, string>();
  readonly #listeners = new Set<() => void>();
  #detached = false;
  #hold: { readonly released: Promise<void>; readonly release: () => void } | null = null;

  constructor(options: {
    parentId: string;
    host: ChildHost;
    /** Resolves once the parent's queued snapshots are durable: a child exists only after the parent's state that asked for it. */
    flushed: () => Promise<void>;
    /** Why the parent left, for a child it cancels (e.g. "ended USER_KILLED (alice: runaway)"). */
    exit: () => string;
    logger: Logger;
  }) {
    this.#parentId = options.parentId;
    this.#host = options.host;
    this.#flushed = options.flushed;
    this.#exit = options.exit;
    this.#logger = options.logger;
  }

  run(spec: ChildSpec, signal: AbortSignal): Promise<TerminalOutcome> {
    let self!: Promise<TerminalOutcome>;
    const park = (wait: Promise<unknown>): Promise<void> => this.#park(self, spec.runId, wait);
    const call = (self = this.#run(spec, signal, park));
    this.#inFlight.add(call);
    const done = () => {
      this.#inFlight.delete(call);
      this.#changed();
    };
    call.then(done, done);
    return call;
  }

  /**
   * The child runs the parent waits on when it has nothing else to do: every
   * child call in flight is waiting on a child that someone else hosts. Null
   * while any call is still starting, attaching or reading the store (or
   * none is in flight). A fleet parent rests here and is woken by a child's end.
   */
  waitingOn(): readonly string[] | null {
    if (this.#inFlight.size === 0 || this.#parked.size < this.#inFlight.size) return null;
    return [...new Set(this.#parked.values())];
  }

  /** Calls `listener` whenever waitingOn() may have changed; returns the unsubscribe. */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Marks `call` as waiting on child `runId` until `wait` settles. */
  async #park(call: Promise<unknown>, runId: string, wait: Promise<unknown>): Promise<void> {
    this.#parked.set(call, runId);
    this.#changed();
    try {
      await wait;
    } finally {
      this.#parked.delete(call);
    }
  }

  #changed(): void {
    for (const listener of this.#listeners) listener();
  }

  /** Resolves once every child call has settled: cancelled children are terminal by then. */
  async drained(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
  }

  /** New children wait (the parent is paused); children already running are paused by the host. */
  hold(): void {
    if (this.#hold) return;
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    this.#hold = { released, release };
  }

  /** New children may start again. */
  release(): void {
    this.#hold?.release();
    this.#hold = null;
  }

  /** The parent is no longer hosted here: stop waiting on children without cancelling them. */
  detach(): void {
    this.#detached = true;
    this.release();
  }

  async #run(spec: ChildSpec, signal: AbortSignal, park: Park): Promise<TerminalOutcome> {
    await this.#flushed();
    while (this.#hold && !signal.aborted) await raceAbort(this.#hold.released, signal, () => ABORTED).catch(() => undefined);
    if (signal.aborted) throw this.#detached ? new ScopeDetachedError(this.#parentId) : new ChildNotStartedError(spec.runId);
    try {
      return await this.#attach(spec, signal, park);
    } catch (error) {
      if (error !== ABORTED) throw error;
      if (this.#detached) throw new ScopeDetachedError(this.#parentId);
      // Not parked: a parent stays hosted while it cancels, so that no child outlives it (a kill is quick).
      return this.#cancel(spec, this.#why(signal));
    }
  }

  /** Start or attach, then wait for the child's outcome wherever it runs; throws ABORTED when the signal aborts. */
  async #attach(spec: ChildSpec, signal: AbortSignal, park: Park): Promise<TerminalOutcome> {
    const id = spec.runId;
    for (;;) {
      if (signal.aborted) throw ABORTED;
      const hosted = this.#host.hostedOutcome(id);
      if (hosted) {
        const waited = raceAbort(hosted, signal, () => ABORTED);
        await park(waited);
        const outcome = await waited;
        if (outcome !== 'gone') return outcome;
        continue;
      }
      const record = await this.#retry(() => this.#host.load(id), signal);
      if (!record) {
        try {
          await this.#retry(() => this.#host.start(spec, this.#parentId), signal);
        } catch (error) {
          if (error === ABORTED || error instanceof RunExistsError) continue;
          // Attributed to the child it was for: the stage's policy decides what a child that could not start means.
          return brokenChild(spec, 'start', error);
        }
        continue;
      }
      const ended = endedOutcome(record);
      if (ended) return ended;
      if (record.summary.status === 'quarantined') return brokenChild(spec, 'store', new Error(`child run ${id} is quarantined: its record does not parse`));
      let adopted = false;
      try {
        adopted = await this.#host.adopt(record);
      } catch (error) {
        if (!isKind(error, 'run-ended')) return brokenChild(spec, 'adopt', error);
        continue;
      }
      if (!adopted) await park(sleep(this.#host.pollMs, signal));
    }
  }

  /** Kills the child and waits until it is terminal, wherever it runs. */
  async #cancel(spec: ChildSpec, why: string): Promise<TerminalOutcome> {
    const id = spec.runId;
    let killed = false;
    for (;;) {
      const record = await this.#retry(() => this.#host.load(id), null);
      if (!record) throw new ChildNotStartedError(id);
      const ended = endedOutcome(record);
      if (ended) return ended;
      // Once to the owner (it aborts the child's in-flight call); again only when nobody holds the lease, to apply it in the store.
      if (!killed || (await this.#host.leaseFree(id))) {
        killed = true;
        await this.#host.kill(id, 'reins', why).catch((error: unknown) => {
          if (!isKind(error, 'run-ended', 'run-not-found')) {
            this.#logger.warn({ runId: id, parent: this.#parentId, err: (error as Error).message }, 'could not kill child run');
          }
        });
      }
      const hosted = this.#host.hostedOutcome(id);
      if (hosted) {
        const outcome = await hosted;
        if (outcome !== 'gone') return outcome;
        continue;
      }
      await sleep(this.#host.pollMs, null);
    }
  }

  #why(signal: AbortSignal): string {
    const reason: unknown = signal.reason;
    return reason instanceof Cancellation ? `parent ${this.#parentId}: ${reason.why}` : `parent ${this.#parentId} ${this.#exit()}`;
  }

  /** A store that is briefly unreachable is waited for (the parent does not start children ahead of its store). */
  async #retry<T>(op: () => Promise<T>, signal: AbortSignal | null): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await op();
      } catch (error) {
        if (!(error instanceof StoreError && error.kind === 'store-unavailable')) throw error;
        if (attempt === 1 || attempt % 10 === 0) this.#logger.warn({ parent: this.#parentId, err: error.message, attempt }, 'store unavailable; waiting to reach child runs');
        await sleep(Math.min(2_000, 50 * 2 ** Math.min(attempt, 6)), signal);
      }
    }
  }
}

/** The stored outcome of a child that ended, validated against the protocol. */
function endedOutcome(record: RunRecord): TerminalOutcome | null {
  if (record.summary.status !== 'done') return null;
  const parsed = TerminalOutcome.safeParse(record.outcome);
  if (parsed.success) return parsed.data;
  return {
    reason: 'INTERNAL_ERROR',
    runId: record.summary.runId,
    agentId: record.summary.agentId,
    turns: record.summary.turns,
    usage: ZERO_USAGE,
    endedAt: record.summary.updatedAt,
    where: 'store',
    error: { name: 'InvalidOutcome', message: `child run ${record.summary.runId} ended ${record.summary.reason ?? '?'} but its stored outcome does not parse` },
  };
}

/** The outcome of a child that could not be started or taken over: an error attributed to that child. */
function brokenChild(spec: ChildSpec, where: string, error: unknown): TerminalOutcome {
  return { reason: 'INTERNAL_ERROR', runId: spec.runId, agentId: spec.agentId, turns: 0, usage: ZERO_USAGE, endedAt: Date.now(), where, error: toErrorInfo(error) };
}

function isKind(error: unknown, ...kinds: string[]): boolean {
  return error instanceof ReinsError && kinds.includes(error.kind);
}

function sleep(ms: number, signal: AbortSignal | null): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(ABORTED);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(ABORTED);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
