import type { z } from 'zod';
import type { InspectionEvent } from 'xstate';
import { AgentRun, type HostedRun } from '../agents/agent-run.js';
import type { Logger } from '../agents/logger.js';
import type { Hostable } from '../agents/run-definition.js';
import { Supervisor } from '../agents/supervisor.js';
import type { Limits } from '../guards/budget.js';
import type { AgentContext } from '../machines/agent-context.js';
import { approvalItemId } from '../machines/agent-machine.js';
import type { TerminalOutcome } from '../machines/outcome.js';
import { MemoryStore } from '../persistence/memory-store.js';
import { realSleep, type VirtualClock } from './clock.js';
import type { CallLog } from './mock-tool.js';
import type { DecisionKind, PlannedStep } from './decision-model.js';
import { settle } from './settle.js';
import { trackStore, type TrackedStore } from './tracked-store.js';

/** Picks one of `choices` at the decision point `at` (the first is the default). */
export type Decide = (at: string, choices: readonly string[]) => string;

/** A decision as a path took it. */
export interface Decision {
  readonly at: string;
  /** The agent of the run that met it. */
  readonly agent: string | undefined;
  readonly choices: readonly string[];
  readonly pick: string;
}

/** How long an explored pause lasts: longer than most runs' deadlines, so a timeout while paused would show. */
const PAUSE_MS = 60 * 60_000;
const LEASE_MS = 60 * 60_000;
/** Real milliseconds a path may wait on nothing before it is reported stuck. */
const STUCK_MS = 5_000;

export interface WorldOptions {
  readonly rebuilt: Hostable;
  /** What a crash-restore hosts the run with: `rebuilt` itself, or its next version (an upgrade on every path). */
  readonly upgraded: Hostable;
  readonly rootId: string;
  readonly clock: VirtualClock;
  readonly calls: CallLog;
  readonly logger: Logger;
  readonly inspect: (event: InspectionEvent) => void;
  /** A replayed path: the decisions it makes differently from the default, by where. */
  readonly forced: ReadonlyArray<{ readonly at: string; readonly pick: string }>;
  /** A path of a run's decision model: its picks, taken in order by that run's decisions of their kind. */
  readonly plan: readonly PlannedStep[];
  readonly approvals: readonly string[];
  /** Virtual time a path may take before it is reported as never ending. */
  readonly horizonMs: number;
  readonly input: unknown;
  readonly limits: z.input<typeof Limits> | undefined;
}

/**
 * One explored path: a fresh store and supervisor, the run, the decisions it
 * meets, and the crashes it asks for (restore on a copy of the store, as a
 * restarted process would find it).
 */
export class World {
  readonly #options: WorldOptions;
  readonly #decisions: Decision[] = [];
  readonly #seen = new Set<string>();
  #tracked: TrackedStore;
  #supervisor: Supervisor | null = null;
  #root: HostedRun | null = null;
  #outcome: TerminalOutcome | null = null;
  #crashRequested = false;
  #disposed = false;
  /** The next planned step. */
  #cursor = 0;
  /** Why the path could not finish, when it could not. */
  stuck: string | null = null;

  constructor(options: WorldOptions) {
    this.#options = options;
    this.#tracked = trackStore(new MemoryStore({ now: options.clock.now }));
    options.calls.reset();
  }

  /** The store the path ends on (a copy, after a crash). */
  get store() {
    return this.#tracked.store;
  }

  /** The path's pick at a decision point: forced, or the default; a point met again (a call re-made after a restore) takes the default. */
  decide(at: string, choices: readonly string[]): string {
    if (this.#seen.has(at)) return choices[0]!;
    this.#seen.add(at);
    const agent = this.#supervisor?.getRun(at.split('/')[0]!)?.agentId;
    const forced = this.#options.forced.find((f) => f.at === at)?.pick ?? this.#planned(at);
    const pick = forced !== undefined && choices.includes(forced) ? forced : choices[0]!;
    this.#decisions.push({ at, agent, choices, pick });
    return pick;
  }

  /**
   * The plan's pick for the decision at `at` (`<run>/<kind>/…`), when it is
   * the next planned step: same run, same kind, same tool. A planned
   * approval the call turned out not to need is passed over; the decisions of
   * other runs take the default.
   */
  #planned(at: string): string | undefined {
    const [runId, kind, tool] = at.split('/') as [string, DecisionKind, string | undefined];
    for (let step = this.#options.plan[this.#cursor]; step; step = this.#options.plan[this.#cursor]) {
      if (step.run !== runId) return undefined;
      if (step.kind === kind && (step.tool === undefined || step.tool === tool)) {
        this.#cursor++;
        return step.pick;
      }
      if (step.kind !== 'approval' || kind !== 'tool') return undefined;
      this.#cursor++;
    }
    return undefined;
  }

  /** Runs the path to its outcome (null when it got stuck). */
  async run(): Promise<{ outcome: TerminalOutcome | null; decisions: readonly Decision[] }> {
    const { rootId, input, limits } = this.#options;
    await this.#open();
    const id = 'definition' in this.#options.rebuilt ? this.#options.rebuilt.definition.id : this.#options.rebuilt.id;
    this.#watch(await this.#supervisor!.startRun(id, { runId: rootId, ...(input !== undefined ? { input } : {}), ...(limits ? { limits } : {}) }));
    let idleSince = Date.now();
    const startedAt = this.#options.clock.now();
    while (this.#outcome === null) {
      await settle(this.#options.clock, this.#tracked.inFlight, this.#tracked.activity);
      if (this.#crashRequested) {
        await this.#restart();
        if (this.stuck !== null) break;
        continue;
      }
      if (this.#outcome !== null) break;
      if (this.#options.clock.now() - startedAt > this.#options.horizonMs) {
        this.stuck = `the run did not end within ${this.#options.horizonMs / 3_600_000} h of virtual time: ${this.#supervisor!.runs().map((r) => `${r.runId} in ${r.status().state}`).join(', ')}`;
        break;
      }
      if (this.#approve() || this.#options.clock.next()) {
        idleSince = Date.now();
        continue;
      }
      if (Date.now() - idleSince > STUCK_MS) {
        this.stuck = `nothing happened for ${STUCK_MS} ms and no timer is set: ${this.#supervisor!.runs().map((r) => `${r.runId} in ${r.status().state}`).join(', ')}`;
        break;
      }
      await realSleep(5);
    }
    return { outcome: this.#outcome, decisions: this.#decisions };
  }

  /** The process dies now (from inside a model call): the call never answers. */
  crash(): Promise<never> {
    this.requestCrash();
    return new Promise<never>(() => undefined);
  }

  /** The process dies as soon as the work in hand settles. */
  requestCrash(): void {
    this.#crashRequested = true;
  }

  /** An operator pauses the run, and resumes it PAUSE_MS later. */
  pause(runId: string): void {
    this.#supervisor?.getRun(runId)?.pause('explore', 'explored pause');
    setTimeout(() => {
      if (!this.#disposed) void this.#supervisor?.resumeRun(runId, 'explore').catch(() => undefined);
    }, PAUSE_MS);
  }

  /** An operator kills the run. */
  kill(runId: string): void {
    this.#supervisor?.getRun(runId)?.kill('explore', 'explored kill');
  }

  /** Closes the path's supervisor. */
  async dispose(): Promise<void> {
    this.#disposed = true;
    await this.#supervisor?.close();
  }

  async #open(hostable = this.#options.rebuilt): Promise<void> {
    this.#supervisor = await Supervisor.open({ store: this.#tracked.store, agents: [hostable], leaseMs: LEASE_MS, now: this.#options.clock.now, logger: this.#options.logger, inspect: this.#options.inspect });
  }

  #watch(run: HostedRun): void {
    this.#root = run;
    void run.outcome.then((o) => {
      if (this.#root === run) this.#outcome = o;
    });
  }

  /** Copies the store as the dead process left it, drops the old supervisor, and recovers on the copy. */
  async #restart(): Promise<void> {
    this.#crashRequested = false;
    const copy = (this.#tracked.store as unknown as MemoryStore).copy();
    const old = this.#supervisor!;
    this.#root = null;
    void old.close().catch(() => undefined);
    this.#tracked = trackStore(copy);
    await this.#open(this.#options.upgraded);
    await this.#supervisor!.recoverRuns();
    const root = this.#supervisor!.getRun(this.#options.rootId);
    if (root) this.#watch(root);
    else {
      // Not running in the copy: it had already ended, or it is paused (a pending resume brings it back).
      const record = await copy.load(this.#options.rootId);
      if (record?.outcome) this.#outcome = record.outcome as TerminalOutcome;
      else if (record?.summary.status === 'paused') this.#awaitResume();
      // Running but not taken back: the restored definition refuses it (another version, no migration). Say why.
      else if (record) {
        try {
          const hosted = await this.#supervisor!.hostRun(this.#options.rootId);
          if (hosted) this.#watch(hosted.run);
        } catch (error) {
          this.stuck = `restored, the run was refused: ${(error as Error).name}: ${(error as Error).message}`;
        }
      }
    }
  }

  /** A paused root after a restore is hosted again when resumed: watch for it. */
  #awaitResume(): void {
    const poll = () => {
      const root = this.#supervisor?.getRun(this.#options.rootId);
      if (root) this.#watch(root);
      else if (!this.#disposed && this.#outcome === null) setTimeout(poll, 1_000);
    };
    setTimeout(poll, PAUSE_MS);
  }

  /** Decides the next pending approval of any run; true when it gave a decision. */
  #approve(): boolean {
    for (const run of this.#supervisor?.runs() ?? []) {
      if (!(run instanceof AgentRun) || run.status().status !== 'awaiting-approval') continue;
      const context = run.actor.getSnapshot().context as AgentContext;
      const at = `${run.runId}/approval/${approvalItemId(context)}`;
      if (this.#seen.has(at)) continue;
      // An approval with no deadline cannot expire: leaving it would wait forever.
      const choices = context.approvalDueAt === null ? this.#options.approvals.filter((a) => a !== 'expire') : this.#options.approvals;
      const pick = this.decide(at, choices);
      if (pick === 'approve') run.approve('explore');
      else if (pick === 'edit') run.send({ type: 'APPROVE', by: 'explore', arguments: context.current?.input ?? null });
      else if (pick === 'reject') run.reject('explore', 'rejected in exploration');
      else continue;
      return true;
    }
    return false;
  }
}
