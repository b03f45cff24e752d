import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Snapshot } from 'xstate';
import type { TerminalOutcome } from '../machines/outcome.js';
import { CorruptRecordError, StaleLeaseError, StoreError, UnknownRunError, VersionConflictError } from '../persistence/errors.js';
import type { Command, Lease, QueuedCommand, RunRecord } from '../persistence/records.js';
import type { SnapshotStore } from '../persistence/store.js';
import { AgentRun, type AgentRunOptions, type HostedRun, type RunIdentity, type RunOrigin } from './agent-run.js';
import { ChildScope, type ChildHost, type ChildSpec } from './child-runs.js';
import type { StartOptions } from './define-agent.js';
import { ReinsError, RunNotFoundError } from './errors.js';
import type { CallRecord, RunObserver } from './observer.js';
import { createLogger, type Logger } from './logger.js';
import { applyOffline } from './offline-control.js';
import type { Pipeline } from './pipeline.js';
import type { PipelineRun } from './pipeline-run.js';
import { storeRateLimiter, type RateLimiter } from './rate-limits.js';
import { scheduleRetention, type RetentionOptions } from './retention-schedule.js';
import { redact, DEFAULT_SECRET_KEYS } from './redact.js';
import { definitionOf, type HostEnvironment, type Hostable, type RunDefinition } from './run-definition.js';
import { recordFrom } from './run-record.js';
import { RunWriter, type WriteRetryPolicy } from './run-writer.js';
import { StoreJournal, StoreTranscript } from './store-journal.js';
import { machineOf, planStoredRun, type StoredRunPlan } from './stored-version.js';
import { routeOf, routesOf } from './fleet/route.js';
import { submitRun, type RunQueue, type SubmitOptions } from './fleet/submit.js';

/** Lease renewals sent at once. */
const RENEW_WAVE = 512;
/** Every journal step is below this: trimming below it clears the journal. */
const ALL_STEPS = Number.MAX_SAFE_INTEGER;
/** Trimming is housekeeping, not a guarantee: it runs once the run has moved this many steps on. */
const TRIM_EVERY_STEPS = 16;

export { MachineMismatchError } from './version-errors.js';

/** A command for a run that has already ended. */
export class RunEndedError extends ReinsError {
  constructor(runId: string, reason: string | null) {
    super('run-ended', `run ${runId} already ended${reason ? ` (${reason})` : ''}`);
  }
}

/** A run whose agent (or pipeline) this process does not know, or an id that names another kind of run than asked for. */
export class UnknownAgentError extends ReinsError {
  constructor(agentId: string, detail?: string) {
    super('unknown-agent', detail ? `${agentId} ${detail}` : `no agent named ${agentId} is registered with this supervisor`);
  }
}

/** A command a run of this kind does not take (a pipeline takes no approvals: its child that waits does). */
export class UnsupportedCommandError extends ReinsError {
  constructor(runId: string, kind: string, command: string) {
    super('unsupported-command', `run ${runId} is a ${kind} run, which takes no ${command}${kind === 'pipeline' ? '; send it to the child run that waits' : ''}`);
  }
}

/** This process lost the run (another worker holds its lease now): it stops here with no outcome of its own. */
export class RunLostError extends ReinsError {
  constructor(runId: string) {
    super('run-lost', `run ${runId} is owned by another worker now; it stopped here without an outcome`);
  }
}

/** This worker could not renew the run's lease in time: it stopped the run's calls before another worker may take it over. */
export class LeaseExpiredError extends ReinsError {
  constructor(runId: string, expiresAt: number) {
    super('lease-expired', `run ${runId}: lease ran out at ${new Date(expiresAt).toISOString()} without a renewal; its calls were aborted here`);
  }
}

/** After a restore, an active state's invoke has no child: its actor was renamed or inline, and the run would hang silently. */
export class DeadChildError extends ReinsError {
  constructor(runId: string, missing: readonly string[]) {
    super('dead-child', `run ${runId} restored without its invoked actors ${missing.join(', ')}`);
  }
}

export interface SupervisorOptions {
  readonly store: SnapshotStore;
  /** Agents and pipelines this process hosts; a pipeline's stage agents are registered with it. */
  readonly agents: readonly Hostable[];
  /** Unique per process; defaults to host:pid:random. */
  readonly workerId?: string;
  /** How long a lease lasts without renewal; renewed every third of it. */
  readonly leaseMs?: number;
  /**
   * The clock of the store's leases, which every deadline a run computes from a lease (its fencing margin, a
   * previous owner's window) is read against. Default Date.now; reins/testing passes its virtual clock.
   */
  readonly now?: () => number;
  readonly logger?: Logger;
  readonly inspect?: AgentRunOptions['inspect'];
  readonly writeRetry?: WriteRetryPolicy;
  /** Telemetry and live feeds: told of every agent run's start, transition, call and outcome. */
  readonly observers?: readonly RunObserver[];
  /** Deletes runs and drops traces by outcome on a schedule (see agents/retention.ts); observers get each sweep's report. */
  readonly retention?: RetentionOptions;
  /** A fleet's slice queue: submit() hands runs to it, and a command for a run not hosted here wakes it there instead of hosting it here. */
  readonly queue?: RunQueue;
}

/** How to start a run of any kind. */
export interface StartRunOptions<I = unknown> {
  readonly input?: I;
  readonly runId?: string;
  readonly seed?: number;
  /** The run that started this one: listings show the tree, and cancelling the parent cancels it. */
  readonly parentId?: string;
  readonly limits?: StartOptions['limits'];
}

interface Hosted {
  readonly run: HostedRun;
  readonly def: RunDefinition;
  readonly writer: RunWriter;
  readonly children: ChildScope;
  readonly createdAt: number;
  readonly parentId: string | null;
  /** Resolves if the run stops being hosted here without an outcome (lost lease, shutdown). */
  readonly gone: Promise<'gone'>;
  readonly leave: () => void;
  lease: Lease;
  /** Another worker owns the run now: nothing more is written, and no outcome is reported here. */
  lost: boolean;
  /** Being handed back to the store at a resting point (releaseRun): commands stay queued in the store for the next host. */
  leaving: boolean;
  /** Command deliveries in flight; releaseRun waits for them before it decides the run still rests. */
  draining: Promise<void>;
  /** Ids of queued commands applied in this hosting: they stay in the store until a commit acknowledges them, and a second read must not apply them again. */
  readonly applied: Set<string>;
}

/** Runs with commands queued while another worker held them, at most this many remembered. */
const MAX_QUEUED = 10_000;
/** Why reins pauses a run whose store stopped answering; the run resumes by itself when writes land again. */
const STORE_PAUSE = 'store unavailable';

/**
 * Hosts durable runs of any kind (agents, pipelines) on a store: persists
 * the snapshot after every transition, journals every call, holds a renewed
 * lease per run, takes operator commands from any process, rehydrates runs
 * after a crash, and gives every run its children (start-or-attach by id,
 * cancelled with it).
 *
 * The kind-specific part is a RunDefinition; the `…Run` methods (startRun,
 * resumeRun, recoverRuns, getRun, runs) work on any kind, the older ones
 * (start, resume, recover, get, hosted) return agent runs.
 */
export class Supervisor {
  readonly workerId: string;
  readonly store: SnapshotStore;
  readonly #hosted = new Map<string, Hosted>();
  /** Runs being handed back (releaseRun): not hosted any more, their last writes and lease release still on the way. */
  readonly #releasing = new Set<string>();

  /** Whether this process hosts the run or is still handing it back: either way it is not to be taken here. */
  #here(runId: string): boolean {
    return this.#hosted.has(runId) || this.#releasing.has(runId);
  }
  /** Runs being taken over, rehydrated or changed in the store by this process: one operation per run at a time. */
  readonly #locks = new Map<string, Promise<unknown>>();
  readonly #definitions = new Map<string, RunDefinition>();
  readonly #leaseMs: number;
  readonly #now: () => number;
  readonly #safetyMarginMs: number;
  readonly #fenceMarginMs: number;
  readonly #logger: Logger;
  readonly #options: SupervisorOptions;
  readonly #childHost: ChildHost;
  /** Where the children of a run hosted in a fleet slice go: their own durable runs, hosted by their own slice jobs. */
  readonly #fleetChildHost: ChildHost | null;
  readonly #rateLimiter: RateLimiter;
  /** Runs not hosted here that were sent commands: a dead owner's run is picked up (and its commands applied) by recover. */
  readonly #queued = new Set<string>();
  #unwatch: (() => Promise<void>) | null = null;
  #renewTimer: NodeJS.Timeout | null = null;
  #fenceTimer: NodeJS.Timeout | null = null;
  #stopRetention: (() => Promise<void>) | null = null;
  /** The renewal round in flight: one at a time, and close() waits for it before releasing leases. */
  #renewing: Promise<void> | null = null;
  #closed = false;

  private constructor(options: SupervisorOptions) {
    this.#options = options;
    this.store = options.store;
    this.#rateLimiter = storeRateLimiter(options.store);
    this.workerId = options.workerId ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    this.#leaseMs = options.leaseMs ?? 15_000;
    this.#now = options.now ?? Date.now;
    // Renewals come every third of the lease; two missed in a row leave a third, so a call that acts needs a fifth
    // left to start, and a run is fenced (stopped here) with a tenth left, before anyone else may take it.
    this.#safetyMarginMs = Math.floor(this.#leaseMs / 5);
    this.#fenceMarginMs = Math.floor(this.#leaseMs / 10);
    this.#logger = (options.logger ?? createLogger()).child({ worker: this.workerId });
    // Listed agents replace one another by id, as before; what a pipeline uses must not conflict with them.
    const listed = options.agents.map(definitionOf);
    for (const def of listed) this.#definitions.set(def.id, def);
    for (const def of listed) for (const used of def.uses) this.#register(used);
    this.#childHost = this.#makeChildHost();
    this.#fleetChildHost = options.queue ? this.#makeFleetChildHost(options.queue) : null;
  }

  /** How long this supervisor's leases last without renewal. */
  get leaseMs(): number {
    return this.#leaseMs;
  }

  /** Opens a supervisor: starts watching for commands and renewing leases. */
  static async open(options: SupervisorOptions): Promise<Supervisor> {
    const supervisor = new Supervisor(options);
    supervisor.#unwatch = await options.store.watchCommands((runId) => void supervisor.#drainCommands(runId));
    supervisor.#renewTimer = setInterval(() => {
      supervisor.#renewing ??= supervisor.#renewLeases().finally(() => (supervisor.#renewing = null));
    }, Math.max(50, Math.floor(supervisor.#leaseMs / 3)));
    supervisor.#renewTimer.unref();
    // Checked apart from renewals: a renewal that hangs on an unreachable store must not keep a run going past its lease.
    supervisor.#fenceTimer = setInterval(() => supervisor.#fenceExpiring(), Math.max(10, Math.floor(supervisor.#leaseMs / 20)));
    supervisor.#fenceTimer.unref();
    if (options.retention) {
      supervisor.#stopRetention = scheduleRetention(options.store, options.retention, {
        onReport: (report) => supervisor.#notify((o) => o.onRetention?.(report)),
        onError: (error) => supervisor.#logger.warn({ err: (error as Error).message }, 'retention sweep failed; the next one retries'),
      });
    }
    return supervisor;
  }

  /**
   * Starts a new durable run; its first snapshot is stored before anything
   * runs. A string names a registered agent; a pipeline is started by its
   * object (registered here if it was not).
   */
  start<I>(pipeline: Pipeline<I>, options?: StartRunOptions<I>): Promise<PipelineRun>;
  start(agentId: string, options?: StartRunOptions): Promise<AgentRun>;
  async start(target: string | Pipeline<unknown>, options: StartRunOptions = {}): Promise<HostedRun> {
    if (typeof target !== 'string') return (await this.#launch(this.#register(target.definition), options)).run;
    const def = this.#definition(target);
    if (def.kind !== 'agent') throw new UnknownAgentError(target, `is a ${def.kind}: start it with supervisor.start(pipeline) or supervisor.startRun('${target}')`);
    return (await this.#launch(def, options)).run;
  }

  /** Starts a new durable run of any registered agent or pipeline by id. */
  async startRun(id: string, options: StartRunOptions = {}): Promise<HostedRun> {
    return (await this.#launch(this.#definition(id), options)).run;
  }

  /** Hands a new run to the fleet (see submitRun): created durably, its first slice enqueued; returns its id at once. */
  async submit(target: string | Pipeline<unknown>, options: SubmitOptions = {}): Promise<string> {
    if (!this.#options.queue) throw new ReinsError('no-queue', 'submit needs a fleet queue: open the Supervisor with { queue: new SliceQueue(…) }');
    return submitRun(this, this.#options.queue, target, options);
  }

  /**
   * Creates a durable run that nobody owns yet, without hosting it: a
   * dispatcher's submit, after which a worker takes it with hostRun.
   * RunExistsError (from the store) when the id is taken.
   */
  async createRun(target: string | Pipeline<unknown>, options: StartRunOptions = {}): Promise<string> {
    const def = typeof target === 'string' ? this.#definition(target) : this.#register(target.definition);
    const { runId, record } = this.#initialRecord(def, options);
    await this.store.create(record);
    return runId;
  }

  /**
   * Takes a stored run's lease and hosts it here (one slice of a fleet
   * worker), through the same gate as every other take-over. Null when
   * another owner holds its lease or this process hosts it already;
   * RunEndedError or RunNotFoundError when there is nothing to host. `gone`
   * resolves if the run stops being hosted here without an outcome. With a
   * queue, the run's children are submitted to the fleet like any run, and
   * `children` says when the run only waits on them (it can then rest).
   */
  async hostRun(runId: string): Promise<{ run: HostedRun; gone: Promise<'gone'>; children: ChildScope } | null> {
    // A run this process is still handing back is held: taking it again here (the same owner gets a new lease at once)
    // would fence off its own last writes and rehydrate from the record before them.
    if (this.#here(runId)) return null;
    return this.#exclusive(runId, async () => {
      if (this.#here(runId) || this.#closed) return null;
      const { record, lease } = await this.#takeOver(runId);
      if (!lease) return null;
      const hosted = await this.#rehydrate(record, lease, null, this.#fleetChildHost ?? this.#childHost);
      return { run: hosted.run, gone: hosted.gone, children: hosted.children };
    });
  }

  /**
   * Hands a hosted run back to the store at a resting point (awaiting a
   * decision, a timer, a resume): its writes are made durable, its actor
   * stopped, its lease released. Commands that arrive meanwhile stay queued
   * in the store for the next host. False, and the run stays hosted, when a
   * command delivered while leaving moved it on (`stillResting` says no).
   */
  async releaseRun(runId: string, stillResting: () => boolean): Promise<boolean> {
    const hosted = this.#hosted.get(runId);
    if (!hosted) return true;
    hosted.leaving = true;
    await hosted.draining;
    if (!stillResting() || hosted.lost) {
      hosted.leaving = false;
      return hosted.lost;
    }
    // No call the run starts from here on gets its checkpoint: what it was about to do is its next host's.
    const closed = hosted.writer.close({ holdStarts: true });
    this.#releasing.add(runId);
    this.#hosted.delete(runId);
    try {
      hosted.children.detach();
      hosted.leave();
      await closed;
      hosted.run.actor.stop();
      if (!hosted.lost) await this.store.releaseLease(runId, hosted.lease);
    } finally {
      this.#releasing.delete(runId);
    }
    return true;
  }

  /**
   * Makes a run go again: a hosted or remote paused run gets RESUME; a run no
   * live worker owns (crashed, or paused and unloaded) is rehydrated here.
   * Returns the local handle of an agent run, or null when another worker
   * owns the run (or it is not an agent run: see resumeRun).
   */
  async resume(runId: string, by = 'reins'): Promise<AgentRun | null> {
    const run = await this.resumeRun(runId, by);
    return run instanceof AgentRun ? run : null;
  }

  /** As resume, for a run of any kind; null when another worker owns it. */
  async resumeRun(runId: string, by = 'reins'): Promise<HostedRun | null> {
    return (await this.#control(runId, { type: 'RESUME', by, at: this.#now() }))?.run ?? null;
  }

  /** Rehydrates every run left `running` by a worker that is gone (worker start-up); returns the agent runs (recoverRuns returns all). */
  async recover(): Promise<AgentRun[]> {
    return (await this.recoverRuns()).filter((run): run is AgentRun => run instanceof AgentRun);
  }

  /** Rehydrates every run of a registered kind left `running` by a worker that is gone; returns the runs it took over. */
  async recoverRuns(): Promise<HostedRun[]> {
    const runs: HostedRun[] = [];
    for (const summary of await this.store.list({ status: 'running' })) {
      const runId = summary.runId;
      // A run hosted here, or being taken over here right now (another recover, a parent adopting its child), is someone else's to return.
      if (this.#here(runId) || this.#locks.has(runId) || !this.#definitions.has(summary.agentId)) continue;
      try {
        const hosted = await this.#exclusive(runId, async () => {
          if (this.#here(runId)) return null;
          const { record, lease } = await this.#takeOver(runId);
          return lease ? this.#rehydrate(record, lease) : null;
        });
        if (hosted) runs.push(hosted.run);
      } catch (error) {
        if (error instanceof RunEndedError) continue;
        // One bad run (corrupt, mismatched) must not stop the others from recovering.
        this.#logger.error({ runId, err: (error as Error).message }, 'could not recover run');
      }
    }
    for (const runId of [...this.#queued]) {
      if (this.#here(runId) || this.#locks.has(runId)) continue;
      try {
        const hosted = await this.#exclusive(runId, () => this.#takeQueued(runId));
        if (hosted) runs.push(hosted.run);
      } catch (error) {
        this.#queued.delete(runId);
        if (!(error instanceof RunEndedError || error instanceof RunNotFoundError)) this.#logger.error({ runId, err: (error as Error).message }, 'could not recover run');
      }
    }
    return runs;
  }

  /**
   * A run that was sent commands while another worker held it (paused, say,
   * when that worker died): once nobody holds it, its commands are applied
   * here, so that a queued RESUME is not lost with its owner.
   */
  async #takeQueued(runId: string): Promise<Hosted | null> {
    if (this.#hosted.has(runId)) {
      this.#queued.delete(runId);
      return null;
    }
    const { record, lease } = await this.#takeOver(runId);
    if (!lease) {
      // A running run is recover()'s once its owner is gone (its commands apply then); a paused one is only found here.
      if (record.summary.status === 'running') this.#queued.delete(runId);
      return null;
    }
    this.#queued.delete(runId);
    if (!this.#definitions.has(record.summary.agentId)) {
      // Not a kind this process hosts: its commands stay queued for a worker that does.
      await this.store.releaseLease(runId, lease);
      return null;
    }
    const commands = await this.store.peekCommands(runId);
    if (commands.length === 0 && record.summary.status !== 'running') {
      await this.store.releaseLease(runId, lease);
      return null;
    }
    return this.#rehydrate(record, lease, commands);
  }

  #remember(runId: string): void {
    if (this.#queued.size >= MAX_QUEUED) this.#queued.delete(this.#queued.values().next().value!);
    this.#queued.add(runId);
  }

  /** Pauses a run wherever it is hosted (or in the store when nobody hosts it); a pipeline's children are paused with it. */
  async pause(runId: string, by: string, why: string): Promise<void> {
    await this.#control(runId, { type: 'PAUSE', by, why, at: this.#now() });
  }

  /** Kills a run wherever it is hosted (or in the store when nobody hosts it); its children are killed with it. */
  async kill(runId: string, by: string, why: string): Promise<void> {
    await this.#control(runId, { type: 'KILL', by, why, at: this.#now() });
  }

  /** Approves the call a run waits on. */
  async approve(runId: string, by: string): Promise<void> {
    await this.#control(runId, { type: 'APPROVE', by, at: this.#now() });
  }

  /** Rejects the call a run waits on, with feedback for the model. */
  async reject(runId: string, by: string, feedback: string): Promise<void> {
    await this.#control(runId, { type: 'REJECT', by, feedback, at: this.#now() });
  }

  /** The local handle of an agent run hosted by this process. */
  get(runId: string): AgentRun | undefined {
    const run = this.#hosted.get(runId)?.run;
    return run instanceof AgentRun ? run : undefined;
  }

  /** The local handle of a run of any kind hosted by this process. */
  getRun(runId: string): HostedRun | undefined {
    return this.#hosted.get(runId)?.run;
  }

  /** Agent runs hosted by this process. */
  hosted(): AgentRun[] {
    return this.runs().filter((run): run is AgentRun => run instanceof AgentRun);
  }

  /** Every definition this supervisor hosts runs of: those it was given and those they start as children. */
  definitions(): RunDefinition[] {
    return [...this.#definitions.values()];
  }

  /** Runs of every kind hosted by this process. */
  runs(): HostedRun[] {
    return [...this.#hosted.values()].map((h) => h.run);
  }

  /**
   * Stops hosting: queued writes are made durable first (a snapshot taken
   * after stop() is inert), then actors stop and leases are released so that
   * another worker can take the runs over at once. In-flight calls are
   * aborted; their journal entries make the next owner re-run, reconcile, or
   * end them ACTION_IN_DOUBT. Children are left for the next owner, not
   * cancelled. Bounded by `timeoutMs` (default 5 s).
   */
  async close(options: { timeoutMs?: number } = {}): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#renewTimer) clearInterval(this.#renewTimer);
    if (this.#fenceTimer) clearInterval(this.#fenceTimer);
    const hosted = [...this.#hosted.values()];
    this.#hosted.clear();
    // First let go of every run's children, so that stopping a parent hands them back instead of killing them.
    for (const h of hosted) {
      h.children.detach();
      h.leave();
    }
    const shutdown = Promise.all([
      this.#unwatch?.(),
      this.#stopRetention?.(),
      // The renewal round in flight stops at #closed; one answered after its run's release is refused (a released lease stays released).
      this.#renewing,
      ...hosted.map(async (h) => {
        await h.writer.close();
        h.run.actor.stop();
        await this.store.releaseLease(h.run.runId, h.lease);
      }),
    ]).catch((error: unknown) => this.#logger.warn({ err: (error as Error).message }, 'close: some writes did not complete'));
    // An unreachable store must not hang shutdown: whatever is not durable by then is what a crash would lose.
    const timeoutMs = options.timeoutMs ?? 5_000;
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<'expired'>((resolve) => (timer = setTimeout(() => resolve('expired'), timeoutMs)));
    if ((await Promise.race([shutdown, expired])) === 'expired') {
      this.#logger.warn({ timeoutMs }, 'close: store did not answer in time; stopping runs without their last writes');
      for (const h of hosted) h.run.actor.stop();
    }
    clearTimeout(timer);
  }

  #definition(id: string): RunDefinition {
    const def = this.#definitions.get(id);
    if (!def) throw new UnknownAgentError(id);
    return def;
  }

  /** Registers a definition and what it uses; one id names one definition. */
  #register(def: RunDefinition): RunDefinition {
    const known = this.#definitions.get(def.id);
    if (known && known !== def) {
      // The same agent object always gives the same definition; anything else is two different things under one name.
      throw new ReinsError('definition-conflict', `two different ${known.kind === def.kind ? `${def.kind}s` : 'definitions'} are named ${def.id}`);
    }
    this.#definitions.set(def.id, def);
    for (const used of def.uses) this.#register(used);
    return def;
  }

  #meta(def: RunDefinition, version: number, createdAt: number, parentId: string | null) {
    return { machine: machineOf(def), version, createdAt, now: this.#now(), parentId };
  }

  #runOptions(): AgentRunOptions {
    const secretKeys = [...DEFAULT_SECRET_KEYS];
    return { logger: this.#logger, now: this.#now, redactArgs: (v) => redact(v, secretKeys), ...(this.#options.inspect ? { inspect: this.#options.inspect } : {}) };
  }

  /** Runs `op` with no other take-over, rehydration or in-store command for this run in this process meanwhile. */
  async #exclusive<T>(runId: string, op: () => Promise<T>): Promise<T> {
    const previous = this.#locks.get(runId) ?? Promise.resolve();
    const current = previous.then(op, op);
    const tail = current.then(
      () => undefined,
      () => undefined,
    );
    this.#locks.set(runId, tail);
    try {
      return await current;
    } finally {
      if (this.#locks.get(runId) === tail) this.#locks.delete(runId);
    }
  }

  /**
   * Creates a run already leased to this worker, in one store operation, and hosts it here, all behind the
   * run's gate: no recover, adoption or command of this process sees the run between its creation and its
   * hosting, and no other worker can take a lease that is live from the first write. Once the run is durable
   * this never throws: if its lease is lost before it starts, the handle follows the run in the store.
   */
  async #launch(def: RunDefinition, options: StartRunOptions): Promise<Hosted> {
    const { runId, input, record, createdAt, parentId } = this.#initialRecord(def, options);
    return this.#exclusive(runId, async () => {
      const lease = (await this.store.create(record, { owner: this.workerId, ttlMs: this.#leaseMs }))!;
      return this.#host(def, { input }, { lease, version: 1, createdAt, parentId });
    });
  }

  /** A new run's first record (version 1), built from its definition and start options. */
  #initialRecord(def: RunDefinition, options: StartRunOptions) {
    const runId = options.runId ?? randomUUID();
    const input = def.initialInput({
      runId,
      input: options.input,
      ...(options.seed !== undefined ? { seed: options.seed } : {}),
      ...(options.limits ? { limits: options.limits } : {}),
    });
    const createdAt = this.#now();
    const parentId = options.parentId ?? null;
    const probe = def.handle(null, { input }, { logger: this.#logger, now: this.#now, redactArgs: (v) => v });
    return { runId, input, createdAt, parentId, record: recordFrom(probe.persisted(), this.#meta(def, 1, createdAt, parentId), def.facts) };
  }

  /**
   * Takes the lease of a run nobody live holds; `lease` is null when another
   * worker owns it. The record is read once, after the lease is taken, so it
   * holds whatever the previous owner wrote.
   */
  async #takeOver(runId: string): Promise<{ record: RunRecord; lease: Lease | null }> {
    let lease: Lease | null;
    try {
      lease = await this.store.acquireLease(runId, this.workerId, this.#leaseMs);
    } catch (error) {
      throw error instanceof UnknownRunError ? new RunNotFoundError(runId) : error;
    }
    const record = await this.store.load(runId).catch(async (error: unknown) => {
      if (lease) await this.store.releaseLease(runId, lease);
      throw error;
    });
    if (!record || record.summary.status === 'done') {
      if (lease) await this.store.releaseLease(runId, lease);
      if (!record) throw new RunNotFoundError(runId);
      throw new RunEndedError(runId, record.summary.reason);
    }
    return { record, lease };
  }

  /** The definition of a stored run, and the run brought to it (chart and agent migrations, see stored-version.ts); refused runs are let go. */
  async #checkedDefinition(record: RunRecord, lease: Lease): Promise<{ def: RunDefinition; plan: StoredRunPlan }> {
    const def = this.#definitions.get(record.summary.agentId);
    try {
      if (!def) throw new UnknownAgentError(record.summary.agentId);
      return { def, plan: planStoredRun(record, def) };
    } catch (error) {
      await this.store.releaseLease(record.summary.runId, lease);
      throw error;
    }
  }

  /** An inert handle on a stored snapshot: applying an event to it calls nothing. */
  #inert(def: RunDefinition) {
    return (origin: { snapshot: Snapshot<unknown>; runId: string; agentId: string }) => def.handle(null, origin, { logger: this.#logger, now: this.#now, redactArgs: (v) => v });
  }

  async #rehydrate(record: RunRecord, lease: Lease, peeked: readonly QueuedCommand[] | null = null, childHost = this.#childHost): Promise<Hosted> {
    const { def, plan } = await this.#checkedDefinition(record, lease);
    const { runId, agentId } = record.summary;
    let snapshot = plan.snapshot as unknown as Snapshot<unknown>;
    // Commands that arrived while nobody hosted the run apply before anything re-runs; the first commit acknowledges them.
    const queued = peeked ?? (await this.store.peekCommands(runId));
    const applied: Command[] = [];
    for (const { command } of queued) {
      if (!def.commands.has(command.type)) {
        this.#logger.warn({ runId, command: command.type }, 'ignoring a command this kind of run does not take');
        continue;
      }
      snapshot = applyOffline(this.#inert(def), snapshot, runId, agentId, toEvent(command));
      applied.push(command);
    }
    const hosted = this.#host(def, { snapshot, runId, agentId }, { lease, version: record.version, createdAt: record.summary.createdAt, parentId: record.summary.parentId }, childHost);
    this.#acknowledge(hosted, queued, applied.length > 0);
    this.#checkChildren(hosted.run);
    if (plan.steps.length > 0) hosted.writer.trace({ at: this.#now(), kind: 'upgrade', steps: plan.steps });
    // XState does not persist delayed events: timers are re-armed from the due times in context (a run a queued KILL ended has none).
    if (hosted.run.actor.getSnapshot().status === 'active') hosted.run.send({ type: 'reins.rearm' } as never);
    for (const command of applied) await this.#cascade(hosted, command);
    return hosted;
  }

  /** Every invoke of the active states must have its child after a restore, or the run would wait forever. */
  #checkChildren(run: HostedRun): void {
    const snapshot = run.actor.getSnapshot() as unknown as { _nodes: Array<{ invoke: Array<{ id: string }> }>; children: Record<string, unknown> };
    const expected = snapshot._nodes.flatMap((node) => node.invoke.map((inv) => inv.id));
    const missing = expected.filter((id) => !(id in snapshot.children));
    if (missing.length > 0) throw new DeadChildError(run.runId, missing);
  }

  #host(def: RunDefinition, origin: RunOrigin<RunIdentity>, at: { lease: Lease; version: number; createdAt: number; parentId: string | null }, childHost = this.#childHost): Hosted {
    const runId = 'input' in origin ? origin.input.runId : origin.runId;
    const logger = this.#logger;
    let hosted!: Hosted;
    const token = () => hosted.lease.token;
    const notify = (call: (observer: RunObserver, run: AgentRun) => void) => {
      // Observers watch agent runs (their calls, their budgets); a pipeline's work is its children's.
      if (hosted.run instanceof AgentRun) this.#notify((o) => call(o, hosted.run as AgentRun));
    };
    const children = new ChildScope({
      parentId: runId,
      host: childHost,
      flushed: () => hosted.writer.flushed(),
      exit: () => describeExit(hosted.run),
      logger,
    });
    const writer = new RunWriter({
      runId,
      version: at.version,
      record: (version) => recordFrom(hosted.run.persisted(), this.#meta(def, version, at.createdAt, at.parentId), def.facts),
      commit: (commit) => this.store.commit(commit, { leaseToken: token() }),
      storedVersion: async () => (await this.store.load(runId))?.version ?? null,
      trimEvery: TRIM_EVERY_STEPS,
      fatal: (e) => e instanceof StaleLeaseError || e instanceof VersionConflictError || e instanceof CorruptRecordError || e instanceof UnknownRunError,
      // A write refused for a stale lease means another worker owns the run now: stop here at once, before the actor acts on the refusal.
      onFatal: (e) => this.#lost(hosted, e),
      onStalled: (e) => {
        logger.error({ runId, err: (e as Error).message }, 'store unavailable; pausing the run until writes go through');
        hosted.run.pause('reins', `${STORE_PAUSE}: ${(e as Error).message}`);
      },
      onRecovered: () => this.#storeBack(hosted),
      logger,
      ...(this.#options.writeRetry ? { policy: this.#options.writeRetry } : {}),
    });
    const journal = new StoreJournal(writer, () => hosted.lease, 'input' in origin, this.#safetyMarginMs, this.#now);
    const transcripts = new StoreTranscript(this.store, writer, 'input' in origin);
    const env: HostEnvironment = {
      // The store keeps transcript entries as they come (messages and compaction markers alike).
      transcripts: {
        appendStep: (id, step, entries) => transcripts.appendStep(id, step, entries as never),
        read: (id) => transcripts.read(id) as Promise<never>,
      },
      logger,
      now: this.#now,
      journal,
      trace: (entry) => {
        writer.trace(entry);
        notify((o, run) => o.onCall?.(run, entry as CallRecord));
      },
      children,
      // Rate limits are shared through the store by every run and worker on it.
      rateLimiter: this.#rateLimiter,
    };
    const run = def.handle(env, origin, {
      ...this.#runOptions(),
      onTransition: (t) => {
        writer.trace({ kind: 'transition', ...t });
        notify((o, r) => o.onTransition?.(r, t));
      },
      beforeOutcome: async (outcome) => {
        await this.#finish(hosted, outcome);
        notify((o, r) => o.onOutcome?.(r, outcome));
      },
    });
    let leave!: () => void;
    const gone = new Promise<'gone'>((resolve) => (leave = () => resolve('gone')));
    hosted = { run, def, writer, children, gone, leave, lease: at.lease, createdAt: at.createdAt, parentId: at.parentId, lost: false, leaving: false, draining: Promise.resolve(), applied: new Set() };
    this.#hosted.set(runId, hosted);
    run.actor.subscribe({ next: () => writer.touch(), error: () => undefined });
    notify((o, r) => o.onRunStart?.(r, { resumed: !('input' in origin) }));
    run.start();
    void this.#drainCommands(runId);
    return hosted;
  }

  /** Calls every observer; one that throws is logged, never allowed to break a run. */
  #notify(call: (observer: RunObserver) => void): void {
    for (const observer of this.#options.observers ?? []) {
      try {
        call(observer);
      } catch (error) {
        this.#logger.warn({ err: (error as Error).message }, 'observer threw');
      }
    }
  }

  /** Writes land again: a run reins paused for the outage goes on (an operator's pause meanwhile is left alone). */
  #storeBack(hosted: Hosted): void {
    const context = (hosted.run.actor.getSnapshot() as { context?: { paused?: { by: string; why: string } | null; pauseRequest?: { by: string; why: string } | null } }).context;
    const ours = (p: { by: string; why: string } | null | undefined) => p?.by === 'reins' && p.why.startsWith(STORE_PAUSE);
    if (ours(context?.paused) || ours(context?.pauseRequest)) {
      this.#logger.info({ runId: hosted.run.runId }, 'store reachable again; resuming the run');
      hosted.run.resume('reins');
    }
  }

  /**
   * No child outlives its parent: the outcome resolves once every child the
   * run cancelled is terminal. The terminal record is durable before the
   * outcome resolves; the journal goes, the trace stays for audit.
   */
  async #finish(hosted: Hosted, outcome: TerminalOutcome): Promise<void> {
    const runId = hosted.run.runId;
    await hosted.children.drained();
    if (hosted.lost) throw new RunLostError(runId);
    if (hosted.run.actor.getSnapshot().status === 'error') {
      // The machine itself threw (user code in a guard): store the outcome the runtime built.
      const last = recordFrom(hosted.run.persisted(), this.#meta(hosted.def, 0, hosted.createdAt, hosted.parentId), hosted.def.facts);
      await hosted.writer.flushed();
      await this.store.save(
        { ...last, version: hosted.writer.version + 1, snapshot: null, outcome: outcome as RunRecord['outcome'], summary: { ...last.summary, status: 'done', reason: outcome.reason } },
        { leaseToken: hosted.lease.token },
      );
    }
    await hosted.writer.close();
    // The terminal write was refused: the journal and lease are the new owner's now, and the outcome is theirs to report.
    if (hosted.lost) throw new RunLostError(runId);
    await this.store.journalTrim(runId, ALL_STEPS, { leaseToken: hosted.lease.token });
    await this.store.releaseLease(runId, hosted.lease);
    this.#hosted.delete(runId);
  }

  /**
   * This worker lost the run (its lease went to another, another writer moved it, or the record is gone): stop
   * without writing, aborting its in-flight calls; its children are the new owner's. The handle callers hold
   * goes on reporting the run: its outcome is the one the store records, wherever the run ends.
   */
  #lost(hosted: Hosted, error: unknown): void {
    if (hosted.lost) return;
    hosted.lost = true;
    const runId = hosted.run.runId;
    this.#logger.error({ runId, err: (error as Error).message, kind: error instanceof ReinsError || error instanceof StoreError ? error.kind : undefined }, 'lost the run; stopping it here without writing');
    if (this.#hosted.get(runId) === hosted) this.#hosted.delete(runId);
    // Nothing more is written under this holding, before the actor stops: a stopped actor's snapshot has no children.
    hosted.writer.abandon(error);
    hosted.children.detach();
    hosted.leave();
    hosted.run.actor.stop();
    hosted.run.follow(this.#storedOutcome(runId));
  }

  /** The run's outcome once the store records one (it ends wherever its owner hosts it); pending while this supervisor is open and it has none. */
  async #storedOutcome(runId: string): Promise<TerminalOutcome> {
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, this.#childHost.pollMs).unref());
      if (this.#closed) return new Promise<never>(() => undefined);
      const record = await this.store.load(runId).catch(() => null);
      if (record?.summary.status === 'done' && record.outcome) return record.outcome as TerminalOutcome;
    }
  }

  /**
   * Self-fencing: a run whose lease has less than the fencing margin left and no renewal is stopped here
   * (its calls aborted through their signals) before another worker can take it over. Any worker's recovery
   * may then take it; this one takes it back itself one lease later if nobody has (an event loop stalled
   * past a lease, a store that was briefly unreachable), so a single process never strands its own run.
   */
  #fenceExpiring(): void {
    const now = this.#now();
    for (const hosted of [...this.#hosted.values()]) {
      if (hosted.lease.expiresAt - now >= this.#fenceMarginMs) continue;
      this.#lost(hosted, new LeaseExpiredError(hosted.run.runId, hosted.lease.expiresAt));
      void this.#takeBack(hosted.run.runId, hosted.lease);
    }
  }

  /**
   * Takes a self-fenced run back as a new holding, one lease after it was fenced and then as long as the store
   * cannot be reached, unless it ended or another worker holds it by then (that worker's recovery came first).
   */
  async #takeBack(runId: string, old: Lease): Promise<void> {
    for (let attempt = 0; !this.#closed; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, this.#leaseMs * Math.min(2 ** attempt, 8)).unref());
      if (this.#closed || this.#here(runId)) return;
      try {
        const held = await this.store.readLease(runId);
        if (held && held.token !== old.token && held.expiresAt > this.#now()) return;
        const stored = await this.store.load(runId);
        if (!stored || stored.summary.status === 'done') return;
        await this.#exclusive(runId, async () => {
          if (this.#here(runId) || this.#closed) return;
          const { record, lease } = await this.#takeOver(runId);
          if (lease) await this.#rehydrate(record, lease);
        });
        return;
      } catch (error) {
        if (error instanceof RunEndedError || error instanceof RunNotFoundError) return;
        if (!(error instanceof ReinsError)) continue; // the store is still unreachable: try again later
        this.#logger.error({ runId, err: error.message }, 'could not take a self-fenced run back');
        return;
      }
    }
  }

  /** Renews every hosted run's lease. */
  async #renewLeases(): Promise<void> {
    const all = [...this.#hosted.values()];
    const renewOne = async (hosted: Hosted) => {
      try {
        const renewed = await this.store.renewLease(hosted.run.runId, hosted.lease, this.#leaseMs);
        // A run that finished meanwhile released its lease: nothing was lost.
        if (this.#hosted.get(hosted.run.runId) !== hosted) return;
        if (renewed) hosted.lease = renewed;
        else this.#lost(hosted, new StaleLeaseError(hosted.run.runId, hosted.lease.token, null));
      } catch (error) {
        // The store is unreachable: keep going; fencing refuses our writes if another worker takes over meanwhile.
        this.#logger.warn({ runId: hosted.run.runId, err: (error as Error).message }, 'lease renewal failed');
      }
    };
    // In large waves (a RedisStore sends a wave as one pipeline): renewed 64 at a time, a round over 1,000 runs
    // on a busy event loop took longer than a lease, and runs fenced themselves while their worker was alive.
    // A wave stays bounded for a FileStore, where each renewal holds a file open.
    for (let i = 0; i < all.length && !this.#closed; i += RENEW_WAVE) await Promise.all(all.slice(i, i + RENEW_WAVE).map(renewOne));
  }

  async #drainCommands(runId: string): Promise<void> {
    const hosted = this.#hosted.get(runId);
    if (!hosted) {
      // Its owner drains it; if that owner is dead, recover() here applies it once the lease runs out.
      if (!this.#closed) this.#remember(runId);
      return;
    }
    // A run being handed back leaves its commands in the store: its next host takes them.
    if (hosted.leaving) return;
    const drain = (async () => {
      try {
        for (const { id, command } of await this.store.peekCommands(runId)) {
          // Still queued until the commit that holds its effect lands: a drain that read it before is applying it.
          if (hosted.applied.has(id) || hosted.leaving) continue;
          if (hosted.def.commands.has(command.type)) await this.#deliver(hosted, command, id);
          else {
            this.#logger.warn({ runId, command: command.type }, 'ignoring a command this kind of run does not take');
            this.#acknowledge(hosted, [{ id, command }], false);
          }
        }
      } catch (error) {
        this.#logger.warn({ runId, err: (error as Error).message }, 'could not read commands');
      }
    })();
    hosted.draining = Promise.all([hosted.draining, drain]).then(() => undefined);
    await drain;
  }

  /** Gives a command to a run hosted here (with its id when it came from the store's queue); pausing or resuming a run pauses or resumes its children. */
  async #deliver(hosted: Hosted, command: Command, queuedId?: string): Promise<void> {
    if (command.type === 'PAUSE') hosted.children.hold();
    if (command.type === 'RESUME') hosted.children.release();
    hosted.run.send(toEvent(command) as never);
    if (queuedId !== undefined) this.#acknowledge(hosted, [{ id: queuedId, command }], false);
    // A KILL of a hosted run reaches its children through their parent's AbortSignal, which waits for them.
    if (command.type === 'PAUSE' || command.type === 'RESUME') await this.#cascade(hosted, command);
  }

  /**
   * Queued commands the run has applied (or ignored) leave the store with its
   * next commit, whose record holds their effect; `changed` marks a snapshot
   * they changed before the run was hosted, so that it is written.
   */
  #acknowledge(hosted: Hosted, commands: readonly QueuedCommand[], changed: boolean): void {
    for (const { id } of commands) {
      hosted.applied.add(id);
      hosted.writer.acknowledge(id);
    }
    if (changed) hosted.writer.touch();
  }

  /** Passes PAUSE, RESUME or KILL on to the run's unfinished children, wherever they run, with why naming the parent. */
  async #cascade(parent: Hosted | string, command: Command): Promise<void> {
    if (command.type !== 'PAUSE' && command.type !== 'RESUME' && command.type !== 'KILL') return;
    const parentId = typeof parent === 'string' ? parent : parent.run.runId;
    let children;
    try {
      children = (await this.store.list({ parentId })).filter((c) => c.status !== 'done');
    } catch (error) {
      this.#logger.warn({ runId: parentId, err: (error as Error).message }, 'could not list child runs');
      return;
    }
    const at = this.#now();
    const passOn: Command =
      command.type === 'PAUSE'
        ? { type: 'PAUSE', by: 'reins', why: `parent ${parentId} paused by ${command.by}: ${command.why}`, at }
        : command.type === 'KILL'
          ? { type: 'KILL', by: 'reins', why: `parent ${parentId} killed by ${command.by}: ${command.why}`, at }
          : { type: 'RESUME', by: command.by, at };
    await Promise.all(
      children.map((child) =>
        this.#control(child.runId, passOn).catch((error: unknown) => {
          if (!(error instanceof RunEndedError || error instanceof RunNotFoundError)) {
            this.#logger.warn({ runId: child.runId, parent: parentId, command: command.type, err: (error as Error).message }, 'could not pass a command on to a child run');
          }
        }),
      ),
    );
  }

  /**
   * Routes a command: to the run hosted here, to the owning worker, or, when
   * nobody owns the run, applied to the stored snapshot (PAUSE, KILL) or
   * delivered by hosting the run here (RESUME, APPROVE, REJECT). Returns the
   * local entry when the run is hosted here afterwards.
   */
  async #control(runId: string, command: Command): Promise<Hosted | null> {
    const local = this.#hosted.get(runId);
    if (local) {
      this.#accepts(local.def, runId, command);
      await this.#deliver(local, command);
      return local;
    }
    const queue = this.#options.queue;
    if (queue) return this.#wakeWith(queue, runId, command);
    return this.#exclusive(runId, async () => {
      const again = this.#hosted.get(runId);
      if (again) {
        this.#accepts(again.def, runId, command);
        await this.#deliver(again, command);
        return again;
      }
      const { record, lease } = await this.#takeOver(runId);
      const def = this.#definitions.get(record.summary.agentId);
      if (def && !def.commands.has(command.type)) {
        if (lease) await this.store.releaseLease(runId, lease);
        this.#accepts(def, runId, command);
      }
      if (!lease) {
        await this.store.sendCommand(runId, command);
        this.#remember(runId);
        return null;
      }
      if (command.type === 'PAUSE' || command.type === 'KILL') {
        await this.#applyStored(record, lease, command);
        return null;
      }
      // Approvals and resumes mean "go on": host the run and deliver the command live.
      const hosted = await this.#rehydrate(record, lease);
      await this.#deliver(hosted, command);
      return hosted;
    });
  }

  /** In a fleet, a command for a run not hosted here is queued in the store and its run woken: whichever worker hosts it next applies it. */
  async #wakeWith(queue: RunQueue, runId: string, command: Command): Promise<null> {
    const record = await this.store.load(runId);
    if (!record) throw new RunNotFoundError(runId);
    if (record.summary.status === 'done') throw new RunEndedError(runId, record.summary.reason);
    const def = this.#definitions.get(record.summary.agentId);
    if (def) this.#accepts(def, runId, command);
    await this.store.sendCommand(runId, command);
    await queue.wake(runId, 'command');
    return null;
  }

  #accepts(def: RunDefinition, runId: string, command: Command): void {
    if (!def.commands.has(command.type)) throw new UnsupportedCommandError(runId, def.kind, command.type);
  }

  /** Applies PAUSE or KILL to the stored snapshot of an unowned run, without re-running anything; then to its children. */
  async #applyStored(record: RunRecord, lease: Lease, command: Command): Promise<void> {
    const runId = record.summary.runId;
    try {
      const def = this.#definition(record.summary.agentId);
      const stored = planStoredRun(record, def).snapshot as unknown as Snapshot<unknown>;
      const next = applyOffline(this.#inert(def), stored, runId, record.summary.agentId, toEvent(command));
      const updated = recordFrom(next, this.#meta(def, record.version + 1, record.summary.createdAt, record.summary.parentId), def.facts);
      const killed = updated.summary.status === 'done';
      // A killed run keeps its terminal record and trace for audit; nothing resumable remains.
      await this.store.save(killed ? { ...updated, snapshot: null } : updated, { leaseToken: lease.token });
      await this.store.traceAppend(runId, [{ at: this.#now(), kind: 'control', command: command.type, by: command.by, applied: 'in-store' }]);
      if (killed) await this.store.journalTrim(runId, ALL_STEPS, { leaseToken: lease.token });
    } finally {
      await this.store.releaseLease(runId, lease);
    }
    // Nobody hosts this run, so no stage of it will cancel its children: the command goes to them directly.
    await this.#cascade(runId, command);
  }

  /** The Supervisor's side of ChildRuns: how a run's children are started, found, adopted and killed. */
  #makeChildHost(): ChildHost {
    return {
      pollMs: Math.min(500, Math.max(20, Math.floor(this.#leaseMs / 5))),
      hostedOutcome: (runId) => {
        const hosted = this.#hosted.get(runId);
        return hosted ? Promise.race([hosted.run.outcome, hosted.gone]) : null;
      },
      load: (runId) => this.store.load(runId),
      start: async (spec: ChildSpec, parentId: string) => {
        if (this.#closed) throw new ReinsError('supervisor-closed', 'the supervisor is closed');
        await this.#launch(this.#definition(spec.agentId), childStart(spec, parentId));
      },
      adopt: ({ summary: { runId } }) =>
        this.#exclusive(runId, async () => {
          if (this.#hosted.has(runId)) return true;
          if (this.#closed) return false;
          const { record, lease } = await this.#takeOver(runId);
          if (!lease) return false;
          await this.#rehydrate(record, lease);
          return true;
        }),
      kill: (runId, by, why) => this.kill(runId, by, why),
      leaseFree: async (runId) => ((await this.store.readLease(runId))?.expiresAt ?? 0) < this.#now(),
    };
  }

  /**
   * Children of a run hosted in a fleet slice: each is created unowned, with
   * its parent link, and its first slice enqueued under the parent's tenant
   * (job id `<childId>@0`: a parent step repeated after a crash creates and
   * enqueues each child once). The parent never hosts them; it waits, rests,
   * and is woken by a child's end.
   */
  #makeFleetChildHost(queue: RunQueue): ChildHost {
    const local = this.#childHost;
    return {
      ...local,
      start: async (spec: ChildSpec, parentId: string) => {
        if (this.#closed) throw new ReinsError('supervisor-closed', 'the supervisor is closed');
        await this.createRun(spec.agentId, childStart(spec, parentId));
        // The route of the version creating it; a child stored earlier by another version is forwarded by the worker.
        await queue.child(spec.runId, parentId, routesOf(this.#definition(spec.agentId)).native);
      },
      adopt: async (record) => {
        // Never written since its creation: its parent may have died between creating it and enqueueing it.
        if (record.version === 1 && record.summary.parentId) await queue.child(record.summary.runId, record.summary.parentId, routeOf(record));
        return false;
      },
    };
  }
}

/** How a child run is started, wherever it is hosted. */
function childStart(spec: ChildSpec, parentId: string): StartRunOptions {
  return {
    runId: spec.runId,
    parentId,
    ...(spec.input !== undefined ? { input: spec.input } : {}),
    ...(spec.limits ? { limits: spec.limits } : {}),
    ...(spec.seed !== undefined ? { seed: spec.seed } : {}),
  };
}

/** Why a parent left, for the children it cancels: "was killed by alice: runaway", "timed out …", "ended …". */
function describeExit(run: HostedRun): string {
  const outcome = run.status().outcome;
  if (!outcome) return 'left the stage';
  switch (outcome.reason) {
    case 'USER_KILLED':
      return `was killed by ${outcome.by}: ${outcome.why}`;
    case 'TIMEOUT':
      return `timed out (deadline ${outcome.deadlineMs} ms)`;
    default:
      return `ended ${outcome.reason}`;
  }
}

/** The lifecycle event for an operator command (every kind of run names its events alike). */
function toEvent(command: Command) {
  switch (command.type) {
    case 'PAUSE':
      return { type: 'PAUSE' as const, by: command.by, why: command.why };
    case 'RESUME':
      return { type: 'RESUME' as const, by: command.by };
    case 'KILL':
      return { type: 'KILL' as const, by: command.by, why: command.why };
    case 'APPROVE':
      return { type: 'APPROVE' as const, by: command.by };
    case 'REJECT':
      return { type: 'REJECT' as const, by: command.by, feedback: command.feedback };
  }
}
