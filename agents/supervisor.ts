import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Snapshot } from 'xstate';
import type { AgentContext, AgentEvent } from '../machines/agent-context.js';
import type { TerminalOutcome } from '../machines/outcome.js';
import { CorruptRecordError, StaleLeaseError, StaleVersionError, UnknownRunError } from '../persistence/errors.js';
import type { Command, Lease, RunRecord } from '../persistence/records.js';
import type { SnapshotStore } from '../persistence/store.js';
import type { RunEnvironment } from './actors.js';
import { AgentRun, type AgentRunOptions, type RunOrigin } from './agent-run.js';
import type { Agent, StartOptions } from './define-agent.js';
import { ReinsError, RunNotFoundError } from './errors.js';
import type { CallRecord, RunObserver } from './observer.js';
import { createLogger, type Logger } from './logger.js';
import { applyOffline } from './offline-control.js';
import { redact, DEFAULT_SECRET_KEYS } from './redact.js';
import { recordFrom } from './run-record.js';
import { RunWriter, type WriteRetryPolicy } from './run-writer.js';
import { StoreJournal, StoreTranscript } from './store-journal.js';

/** The machine id stored in every envelope; the agent's version rides beside it. */
const MACHINE_ID = 'reins.agent';
/** Every journal step is below this: trimming below it clears the journal. */
const ALL_STEPS = Number.MAX_SAFE_INTEGER;
/** Trimming is housekeeping, not a guarantee: it runs once the run has moved this many steps on. */
const TRIM_EVERY_STEPS = 16;

/** A stored run whose machine or version is not the one this process has. */
export class MachineMismatchError extends ReinsError {
  constructor(runId: string, stored: { id: string; version: string }, expected: { id: string; version: string }) {
    super('machine-mismatch', `run ${runId} was stored by ${stored.id}@${stored.version}; this process has ${expected.id}@${expected.version}`);
  }
}

/** A command for a run that has already ended. */
export class RunEndedError extends ReinsError {
  constructor(runId: string, reason: string | null) {
    super('run-ended', `run ${runId} already ended${reason ? ` (${reason})` : ''}`);
  }
}

/** A run whose agent this process does not know. */
export class UnknownAgentError extends ReinsError {
  constructor(agentId: string) {
    super('unknown-agent', `no agent named ${agentId} is registered with this supervisor`);
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
  // Agents of any input type live side by side; their inputs are checked where runs start.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly agents: readonly Agent<any>[];
  /** Unique per process; defaults to host:pid:random. */
  readonly workerId?: string;
  /** How long a lease lasts without renewal; renewed every third of it. */
  readonly leaseMs?: number;
  readonly logger?: Logger;
  readonly inspect?: AgentRunOptions['inspect'];
  readonly writeRetry?: WriteRetryPolicy;
  /** Telemetry and live feeds: told of every run start, transition, call and outcome. */
  readonly observers?: readonly RunObserver[];
}

interface Hosted {
  readonly run: AgentRun;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly agent: Agent<any>;
  readonly writer: RunWriter<Snapshot<unknown>>;
  readonly createdAt: number;
  readonly parentId: string | null;
  lease: Lease;
  version: number;
  trimmedBelow: number;
}

/**
 * Hosts agent runs on a store: persists the snapshot after every transition,
 * journals every call, holds a renewed lease per run, takes operator commands
 * from any process, and rehydrates runs after a crash.
 */
export class Supervisor {
  readonly workerId: string;
  readonly store: SnapshotStore;
  readonly #hosted = new Map<string, Hosted>();
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly #agents = new Map<string, Agent<any>>();
  readonly #leaseMs: number;
  readonly #logger: Logger;
  readonly #options: SupervisorOptions;
  #unwatch: (() => Promise<void>) | null = null;
  #renewTimer: NodeJS.Timeout | null = null;
  #closed = false;

  private constructor(options: SupervisorOptions) {
    this.#options = options;
    this.store = options.store;
    this.workerId = options.workerId ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    this.#leaseMs = options.leaseMs ?? 15_000;
    this.#logger = (options.logger ?? createLogger()).child({ worker: this.workerId });
    for (const agent of options.agents) this.#agents.set(agent.id, agent);
  }

  /** Opens a supervisor: starts watching for commands and renewing leases. */
  static async open(options: SupervisorOptions): Promise<Supervisor> {
    const supervisor = new Supervisor(options);
    supervisor.#unwatch = await options.store.watchCommands((runId) => void supervisor.#drainCommands(runId));
    supervisor.#renewTimer = setInterval(() => void supervisor.#renewLeases(), Math.max(50, Math.floor(supervisor.#leaseMs / 3)));
    supervisor.#renewTimer.unref();
    return supervisor;
  }

  /** Starts a new durable run of `agentId`; its first snapshot is stored before anything runs. */
  async start(agentId: string, options: { input?: unknown; runId?: string; seed?: number; parentId?: string; limits?: StartOptions['limits'] } = {}): Promise<AgentRun> {
    const agent = this.#agent(agentId);
    const runId = options.runId ?? randomUUID();
    const input = agent.initialInput({
      input: options.input,
      runId,
      ...(options.seed !== undefined ? { seed: options.seed } : {}),
      ...(options.limits ? { limits: options.limits } : {}),
    });
    const createdAt = Date.now();
    const probe = new AgentRun(agent.chart, { input }, { logger: this.#logger, now: Date.now, redactArgs: (v) => v });
    await this.store.create(recordFrom(probe.persisted(), this.#meta(agent, 1, createdAt, options.parentId ?? null)));
    const lease = await this.store.acquireLease(runId, this.workerId, this.#leaseMs);
    if (!lease) throw new StaleLeaseError(runId, 0, null);
    return this.#host(agent, { input }, { lease, version: 1, createdAt, parentId: options.parentId ?? null });
  }

  /**
   * Makes a run go again: a hosted or remote paused run gets RESUME; a run no
   * live worker owns (crashed, or paused and unloaded) is rehydrated here.
   * Returns the local handle, or null when another worker owns the run.
   */
  async resume(runId: string, by = 'reins'): Promise<AgentRun | null> {
    const hosted = this.#hosted.get(runId);
    if (hosted) {
      hosted.run.resume(by);
      return hosted.run;
    }
    const taken = await this.#takeOver(runId);
    if (!taken) {
      await this.store.sendCommand(runId, { type: 'RESUME', by, at: Date.now() });
      return null;
    }
    const run = await this.#rehydrate(taken.record, taken.lease);
    run.resume(by);
    return run;
  }

  /** Rehydrates every run left `running` by a worker that is gone (worker start-up). */
  async recover(): Promise<AgentRun[]> {
    const runs: AgentRun[] = [];
    for (const summary of await this.store.list({ status: 'running' })) {
      if (this.#hosted.has(summary.runId) || !this.#agents.has(summary.agentId)) continue;
      try {
        const taken = await this.#takeOver(summary.runId);
        if (taken) runs.push(await this.#rehydrate(taken.record, taken.lease));
      } catch (error) {
        // One bad run (corrupt, mismatched) must not stop the others from recovering.
        this.#logger.error({ runId: summary.runId, err: (error as Error).message }, 'could not recover run');
      }
    }
    return runs;
  }

  /** Pauses a run wherever it is hosted (or in the store when nobody hosts it). */
  async pause(runId: string, by: string, why: string): Promise<void> {
    await this.#control(runId, { type: 'PAUSE', by, why, at: Date.now() });
  }

  /** Kills a run wherever it is hosted (or in the store when nobody hosts it). */
  async kill(runId: string, by: string, why: string): Promise<void> {
    await this.#control(runId, { type: 'KILL', by, why, at: Date.now() });
  }

  /** Approves the call a run waits on. */
  async approve(runId: string, by: string): Promise<void> {
    await this.#control(runId, { type: 'APPROVE', by, at: Date.now() });
  }

  /** Rejects the call a run waits on, with feedback for the model. */
  async reject(runId: string, by: string, feedback: string): Promise<void> {
    await this.#control(runId, { type: 'REJECT', by, feedback, at: Date.now() });
  }

  /** The local handle of a run hosted by this process. */
  get(runId: string): AgentRun | undefined {
    return this.#hosted.get(runId)?.run;
  }

  /** Runs hosted by this process. */
  hosted(): AgentRun[] {
    return [...this.#hosted.values()].map((h) => h.run);
  }

  /**
   * Stops hosting: queued writes are made durable first (a snapshot taken
   * after stop() is inert), then actors stop and leases are released so that
   * another worker can take the runs over at once. In-flight calls are
   * aborted; their journal entries make the next owner re-run, reconcile, or
   * end them ACTION_IN_DOUBT. Bounded by `timeoutMs` (default 5 s).
   */
  async close(options: { timeoutMs?: number } = {}): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#renewTimer) clearInterval(this.#renewTimer);
    const hosted = [...this.#hosted.values()];
    this.#hosted.clear();
    const shutdown = Promise.all([
      this.#unwatch?.(),
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

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  #agent(agentId: string): Agent<any> {
    const agent = this.#agents.get(agentId);
    if (!agent) throw new UnknownAgentError(agentId);
    return agent;
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  #meta(agent: Agent<any>, version: number, createdAt: number, parentId: string | null) {
    return { machineId: MACHINE_ID, machineVersion: agent.version, version, createdAt, now: Date.now(), parentId };
  }

  /** Takes the lease of a run nobody live holds; null when another worker owns it. */
  async #takeOver(runId: string): Promise<{ record: RunRecord; lease: Lease } | null> {
    const record = await this.store.load(runId);
    if (!record) throw new RunNotFoundError(runId);
    if (record.summary.status === 'done') throw new RunEndedError(runId, record.summary.reason);
    const lease = await this.store.acquireLease(runId, this.workerId, this.#leaseMs);
    if (!lease) return null;
    // Reload under the lease: the previous owner may have written after our first read.
    const current = (await this.store.load(runId))!;
    return { record: current, lease };
  }

  async #rehydrate(record: RunRecord, lease: Lease): Promise<AgentRun> {
    const agent = this.#agent(record.summary.agentId);
    const expected = { id: MACHINE_ID, version: agent.version };
    if (record.machine.id !== expected.id || record.machine.version !== expected.version) {
      await this.store.releaseLease(record.summary.runId, lease);
      throw new MachineMismatchError(record.summary.runId, record.machine, expected);
    }
    let snapshot = record.snapshot as unknown as Snapshot<unknown>;
    // Commands that arrived while nobody hosted the run apply before anything re-runs.
    for (const command of await this.store.takeCommands(record.summary.runId)) {
      snapshot = applyOffline(agent.chart, snapshot, record.summary.runId, record.summary.agentId, toEvent(command), this.#logger);
    }
    const run = this.#host(agent, { snapshot, runId: record.summary.runId, agentId: record.summary.agentId }, {
      lease,
      version: record.version,
      createdAt: record.summary.createdAt,
      parentId: record.summary.parentId,
    });
    this.#checkChildren(run);
    // XState does not persist delayed events: timers are re-armed from the due times in context.
    run.send({ type: 'reins.rearm' });
    return run;
  }

  /** Every invoke of the active states must have its child after a restore, or the run would wait forever. */
  #checkChildren(run: AgentRun): void {
    const snapshot = run.actor.getSnapshot();
    const expected = snapshot._nodes.flatMap((node) => node.invoke.map((inv) => inv.id));
    const missing = expected.filter((id) => !(id in snapshot.children));
    if (missing.length > 0) throw new DeadChildError(run.runId, missing);
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  #host(agent: Agent<any>, origin: RunOrigin, at: { lease: Lease; version: number; createdAt: number; parentId: string | null }): AgentRun {
    const runId = 'input' in origin ? origin.input.runId : origin.runId;
    const logger = this.#logger;
    let hosted!: Hosted;
    const token = () => hosted.lease.token;
    const env: RunEnvironment = {
      transcripts: new StoreTranscript(this.store, token, logger, 'input' in origin),
      logger,
      now: Date.now,
      journal: new StoreJournal(this.store, runId, token, () => hosted.writer.flushed(), logger),
      trace: (entry) => {
        hosted.writer.trace(entry);
        this.#notify((o) => o.onCall?.(hosted.run, entry as CallRecord));
      },
    };
    const secretKeys = [...DEFAULT_SECRET_KEYS];
    const run = new AgentRun(agent.machineFor(env), origin, {
      logger,
      now: Date.now,
      redactArgs: (v) => redact(v, secretKeys),
      ...(this.#options.inspect ? { inspect: this.#options.inspect } : {}),
      onTransition: (t) => {
        hosted.writer.trace({ kind: 'transition', ...t });
        this.#notify((o) => o.onTransition?.(hosted.run, t));
      },
      beforeOutcome: async (outcome) => {
        await this.#finish(hosted, outcome);
        this.#notify((o) => o.onOutcome?.(hosted.run, outcome));
      },
    });
    const writer = new RunWriter<Snapshot<unknown>>({
      write: (snapshot, trace) => this.#write(hosted, snapshot, trace),
      fatal: (e) => e instanceof StaleLeaseError || e instanceof CorruptRecordError || e instanceof UnknownRunError,
      onFatal: (e) => this.#lost(hosted, e),
      onStalled: (e) => {
        logger.error({ runId, err: (e as Error).message }, 'store unavailable; pausing the run until writes go through');
        run.pause('reins', `store unavailable: ${(e as Error).message}`);
      },
      logger,
      ...(this.#options.writeRetry ? { policy: this.#options.writeRetry } : {}),
    });
    hosted = { run, agent, writer, lease: at.lease, version: at.version, createdAt: at.createdAt, parentId: at.parentId, trimmedBelow: 0 };
    this.#hosted.set(runId, hosted);
    run.actor.subscribe({ next: () => writer.snapshot(run.persisted()), error: () => undefined });
    this.#notify((o) => o.onRunStart?.(run, { resumed: !('input' in origin) }));
    run.start();
    void this.#drainCommands(runId);
    return run;
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

  async #write(hosted: Hosted, snapshot: Snapshot<unknown> | null, trace: unknown[]): Promise<void> {
    const runId = hosted.run.runId;
    const appended = trace.length > 0 ? this.store.traceAppend(runId, trace as never) : Promise.resolve();
    if (snapshot === null) return appended;
    const record = recordFrom(snapshot, this.#meta(hosted.agent, hosted.version + 1, hosted.createdAt, hosted.parentId));
    try {
      // The trace and the snapshot go out together; a retry may repeat trace lines, never lose them.
      await Promise.all([appended, this.store.save(record, { leaseToken: hosted.lease.token })]);
    } catch (error) {
      // Under our lease only we write: a stale version means an earlier attempt of ours landed after all.
      if (error instanceof StaleVersionError) hosted.version = (await this.store.load(runId))?.version ?? hosted.version;
      throw error;
    }
    hosted.version = record.version;
    const step = (snapshot as unknown as { context: AgentContext }).context.step;
    if (step >= hosted.trimmedBelow + TRIM_EVERY_STEPS) {
      await this.store.journalTrim(runId, step);
      hosted.trimmedBelow = step;
    }
  }

  /** The terminal record is durable before the outcome resolves; the journal goes, the trace stays for audit. */
  async #finish(hosted: Hosted, outcome: TerminalOutcome): Promise<void> {
    const runId = hosted.run.runId;
    if (hosted.run.actor.getSnapshot().status === 'error') {
      // The machine itself threw (user code in a guard): store the outcome the runtime built.
      const last = recordFrom(hosted.run.persisted(), this.#meta(hosted.agent, 0, hosted.createdAt, hosted.parentId));
      await hosted.writer.flushed();
      await this.store.save(
        { ...last, version: hosted.version + 1, snapshot: null, outcome: outcome as RunRecord['outcome'], summary: { ...last.summary, status: 'done', reason: outcome.reason } },
        { leaseToken: hosted.lease.token },
      );
    }
    await hosted.writer.close();
    await this.store.journalTrim(runId, ALL_STEPS);
    await this.store.releaseLease(runId, hosted.lease);
    this.#hosted.delete(runId);
  }

  /** This worker lost the run (its lease went to another, or the record is gone): stop without writing. */
  #lost(hosted: Hosted, error: unknown): void {
    this.#logger.error({ runId: hosted.run.runId, err: (error as Error).message }, 'lost the run; stopping it here without writing');
    this.#hosted.delete(hosted.run.runId);
    hosted.run.actor.stop();
  }

  async #renewLeases(): Promise<void> {
    for (const hosted of [...this.#hosted.values()]) {
      try {
        const renewed = await this.store.renewLease(hosted.run.runId, hosted.lease, this.#leaseMs);
        if (renewed) hosted.lease = renewed;
        else this.#lost(hosted, new StaleLeaseError(hosted.run.runId, hosted.lease.token, null));
      } catch (error) {
        // The store is unreachable: keep going; fencing refuses our writes if another worker takes over meanwhile.
        this.#logger.warn({ runId: hosted.run.runId, err: (error as Error).message }, 'lease renewal failed');
      }
    }
  }

  async #drainCommands(runId: string): Promise<void> {
    const hosted = this.#hosted.get(runId);
    if (!hosted) return;
    try {
      for (const command of await this.store.takeCommands(runId)) hosted.run.send(toEvent(command));
    } catch (error) {
      this.#logger.warn({ runId, err: (error as Error).message }, 'could not read commands');
    }
  }

  /** Routes a command: to the local run, to the owning worker, or applied in the store when nobody owns the run. */
  async #control(runId: string, command: Command): Promise<void> {
    const hosted = this.#hosted.get(runId);
    if (hosted) {
      hosted.run.send(toEvent(command));
      return;
    }
    const taken = await this.#takeOver(runId);
    if (!taken) {
      await this.store.sendCommand(runId, command);
      return;
    }
    if (command.type === 'PAUSE' || command.type === 'KILL') {
      await this.#applyStored(taken.record, taken.lease, command);
      return;
    }
    // Approvals and resumes mean "go on": host the run and deliver the command live.
    const run = await this.#rehydrate(taken.record, taken.lease);
    run.send(toEvent(command));
  }

  /** Applies PAUSE or KILL to the stored snapshot of an unowned run, without re-running anything. */
  async #applyStored(record: RunRecord, lease: Lease, command: Command): Promise<void> {
    const runId = record.summary.runId;
    try {
      const agent = this.#agent(record.summary.agentId);
      const next = applyOffline(agent.chart, record.snapshot as unknown as Snapshot<unknown>, runId, record.summary.agentId, toEvent(command), this.#logger);
      const updated = recordFrom(next, this.#meta(agent, record.version + 1, record.summary.createdAt, record.summary.parentId));
      const killed = updated.summary.status === 'done';
      // A killed run keeps its terminal record and trace for audit; nothing resumable remains.
      await this.store.save(killed ? { ...updated, snapshot: null } : updated, { leaseToken: lease.token });
      await this.store.traceAppend(runId, [{ at: Date.now(), kind: 'control', command: command.type, by: command.by, applied: 'in-store' }]);
      if (killed) await this.store.journalTrim(runId, ALL_STEPS);
    } finally {
      await this.store.releaseLease(runId, lease);
    }
  }
}

/** The lifecycle event for an operator command. */
function toEvent(command: Command): AgentEvent {
  switch (command.type) {
    case 'PAUSE':
      return { type: 'PAUSE', by: command.by, why: command.why };
    case 'RESUME':
      return { type: 'RESUME', by: command.by };
    case 'KILL':
      return { type: 'KILL', by: command.by, why: command.why };
    case 'APPROVE':
      return { type: 'APPROVE', by: command.by };
    case 'REJECT':
      return { type: 'REJECT', by: command.by, feedback: command.feedback };
  }
}
