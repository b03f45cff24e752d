import { createActor, type Actor, type AnyStateMachine, type EventFrom, type InspectionEvent, type Observer, type Snapshot, type SnapshotFrom } from 'xstate';
import { stateName, type AgentMachine } from '../machines/agent-machine.js';
import type { AgentContext, AgentInput } from '../machines/agent-context.js';
import { toErrorInfo, type TerminalOutcome } from '../machines/outcome.js';
import { ReinsError } from './errors.js';
import type { Logger } from './logger.js';
import { statusOf, type RunStatus, type Transition } from './status.js';

const RECENT_TRANSITIONS = 20;

export interface AgentRunOptions {
  readonly logger: Logger;
  readonly now: () => number;
  readonly redactArgs: (value: unknown) => unknown;
  /** XState inspection events, e.g. `createBrowserInspector().inspect` or `createSkyInspector().inspect`. */
  readonly inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void);
  /** Awaited before `outcome` resolves: a durable run's outcome resolves only once its terminal record is stored. */
  readonly beforeOutcome?: (outcome: TerminalOutcome) => Promise<void>;
  /** Called with every transition (the supervisor writes them to the run's trace). */
  readonly onTransition?: (transition: Transition & { readonly step: number }) => void;
}

/** A run starts fresh from its input, or is rehydrated from a persisted snapshot. */
export type RunOrigin<I = AgentInput> = { readonly input: I } | { readonly snapshot: Snapshot<unknown>; readonly runId: string; readonly agentId: string };

/** The input of any hostable machine names its run and what runs it. */
export interface RunIdentity {
  readonly runId: string;
  readonly agentId: string;
}

/**
 * How one kind of run (agent, pipeline) reads its own live snapshots: the
 * state an operator sees, the status, what the transition log says, and the
 * outcome when the machine itself throws.
 */
export interface RunView<M extends AnyStateMachine> {
  stateName(value: unknown): string;
  status(snapshot: SnapshotFrom<M>, state: string, recent: readonly Transition[], now: number, redactArgs: (value: unknown) => unknown): RunStatus;
  /** The journal step and the log line's extra fields for a transition. */
  transitionFacts(snapshot: SnapshotFrom<M>): { readonly step: number; readonly [key: string]: unknown };
  /** The outcome of a run whose machine threw (a guard or action in user code). */
  crashed(snapshot: SnapshotFrom<M>, where: string, error: unknown, now: number): TerminalOutcome;
}

/**
 * One run hosted in this process, of any kind: operator controls, live
 * status, and an outcome promise that always resolves with a TerminalOutcome
 * (it never rejects, so an ignored run cannot become an unhandled rejection).
 */
export class HostedRun<M extends AnyStateMachine = AnyStateMachine> {
  readonly runId: string;
  readonly agentId: string;
  /** Resolves once, with the run's one terminal outcome. */
  readonly outcome: Promise<TerminalOutcome>;
  readonly actor: Actor<M>;
  readonly #options: AgentRunOptions;
  readonly #view: RunView<M>;
  readonly #recent: Transition[] = [];
  readonly #listeners = new Set<(status: RunStatus) => void>();
  #lastState: string;
  #lastEvent = 'xstate.init';
  #crashed: TerminalOutcome | null = null;
  #settle!: (outcome: TerminalOutcome) => void;
  /** The run ended here, or is followed elsewhere: no second outcome is taken from the local machine. */
  #settled = false;
  #outcomeKnown = false;

  constructor(machine: M, origin: RunOrigin<RunIdentity>, options: AgentRunOptions, view: RunView<M>) {
    this.runId = 'input' in origin ? origin.input.runId : origin.runId;
    this.agentId = 'input' in origin ? origin.input.agentId : origin.agentId;
    this.#options = options;
    this.#view = view;
    this.outcome = new Promise((resolve) => (this.#settle = resolve));
    const inspect = (event: InspectionEvent) => this.#onInspect(event);
    // A restored actor never reads its input, but the options type still asks for one.
    const actorOptions = 'input' in origin ? { input: origin.input, inspect } : { snapshot: origin.snapshot, inspect };
    this.actor = createActor(machine, actorOptions as never) as Actor<M>;
    // A fresh run's first transition is "created → …"; a restored one continues from where it was.
    this.#lastState = 'input' in origin ? 'created' : view.stateName(this.#machineSnapshot().value);
    this.actor.subscribe({
      next: () => {
        this.#recordTransition();
        this.#emit();
        const snapshot = this.#machineSnapshot();
        if (snapshot.status === 'done') this.#resolve(snapshot.output as TerminalOutcome);
      },
      error: (error) => this.#fail(error),
    });
  }

  /** Starts the run; returns this for chaining. */
  start(): this {
    this.actor.start();
    return this;
  }

  /** Asks the run to pause; it pauses once the in-flight work settles (at once when it is waiting). */
  pause(by: string, why: string): void {
    this.send({ type: 'PAUSE', by, why } as EventFrom<M>);
  }

  /** Resumes a paused run where it was. */
  resume(by: string): void {
    this.send({ type: 'RESUME', by } as EventFrom<M>);
  }

  /** Ends the run USER_KILLED, aborting any in-flight call (and cancelling its children) through their AbortSignals. */
  kill(by: string, why: string): void {
    this.send({ type: 'KILL', by, why } as EventFrom<M>);
  }

  /** The snapshot as XState persists it (JSON-safe). */
  persisted(): Snapshot<unknown> {
    return this.actor.getPersistedSnapshot();
  }

  /** Sends any lifecycle event, e.g. a command received from another process. */
  send(event: EventFrom<M>): void {
    this.actor.send(event);
  }

  /** What the run is doing now. */
  status(): RunStatus {
    const snapshot = this.actor.getSnapshot();
    const state = this.#view.stateName(this.#machineSnapshot().value);
    if (this.#crashed) {
      const status = this.#view.status(snapshot, 'internalError', [...this.#recent], this.#options.now(), this.#options.redactArgs);
      return { ...status, status: 'done', state: 'internalError', outcome: this.#crashed, activeTool: null, pendingApproval: null };
    }
    return this.#view.status(snapshot, state, [...this.#recent], this.#options.now(), this.#options.redactArgs);
  }

  /**
   * This process stopped hosting the run before it ended (another worker owns it now): the outcome is
   * the one `elsewhere` yields, so a caller holding this handle still learns how the run ended.
   */
  follow(elsewhere: Promise<TerminalOutcome>): void {
    this.#settled = true;
    elsewhere.then((outcome) => this.#settleOnce(outcome), () => undefined);
  }

  /** Calls `listener` with the status after every transition; returns the unsubscribe function. */
  onStatus(listener: (status: RunStatus) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The machine's snapshot; every hostable machine is a state machine, whose snapshots have a value, a status and an output. */
  #machineSnapshot(): { readonly value: unknown; readonly status: string; readonly output: unknown } {
    return this.actor.getSnapshot() as unknown as { readonly value: unknown; readonly status: string; readonly output: unknown };
  }

  /** The event being processed comes from inspection, which XState reports before it notifies subscribers. */
  #onInspect(event: InspectionEvent): void {
    this.#forwardInspection(event);
    if (event.type === '@xstate.event' && event.actorRef === this.actor) this.#lastEvent = event.event.type;
  }

  /** Records a transition when the state changed; called before listeners see the new status. */
  #recordTransition(): void {
    const snapshot = this.actor.getSnapshot();
    const to = this.#view.stateName(this.#machineSnapshot().value);
    const from = this.#lastState;
    if (to === from) return;
    this.#lastState = to;
    const transition: Transition = { at: this.#options.now(), from, to, event: this.#lastEvent };
    this.#recent.push(transition);
    if (this.#recent.length > RECENT_TRANSITIONS) this.#recent.shift();
    const facts = this.#view.transitionFacts(snapshot);
    this.#options.onTransition?.({ ...transition, step: facts.step });
    this.#options.logger.info({ runId: this.runId, agent: this.agentId, ...facts, from, to, event: transition.event }, 'transition');
  }

  #forwardInspection(event: InspectionEvent): void {
    const inspect = this.#options.inspect;
    if (!inspect) return;
    if (typeof inspect === 'function') inspect(event);
    else inspect.next?.(event);
  }

  /** A throw inside the machine itself (a guard or action in user code): the run still ends typed. */
  #fail(error: unknown): void {
    const outcome = this.#view.crashed(this.actor.getSnapshot(), this.#lastState, error, this.#options.now());
    this.#crashed = outcome;
    this.#options.logger.error({ runId: this.runId, agent: this.agentId, err: outcome.reason === 'INTERNAL_ERROR' ? outcome.error : toErrorInfo(error) }, 'run crashed');
    this.#emit();
    this.#resolve(outcome);
  }

  #resolve(outcome: TerminalOutcome): void {
    if (this.#settled) return;
    this.#settled = true;
    const before = this.#options.beforeOutcome?.(outcome) ?? Promise.resolve();
    before.then(
      () => this.#settleOnce(outcome),
      (error: unknown) => {
        // A run this process lost (its lease went to another worker) has no outcome here: the new owner's is the run's (see follow).
        if (error instanceof ReinsError && error.kind === 'run-lost') return;
        this.#options.logger.error({ runId: this.runId, err: toErrorInfo(error) }, 'storing the outcome failed');
        this.#settleOnce(outcome);
      },
    );
  }

  #settleOnce(outcome: TerminalOutcome): void {
    if (this.#outcomeKnown) return;
    this.#outcomeKnown = true;
    this.#settle(outcome);
  }

  #emit(): void {
    if (this.#listeners.size === 0) return;
    const status = this.status();
    for (const listener of this.#listeners) listener(status);
  }
}

/** How an agent run reads its snapshots. */
const AGENT_VIEW: RunView<AgentMachine> = {
  stateName,
  status: (snapshot, state, recent, now, redactArgs) => statusOf(state, snapshot.context, recent, now, redactArgs),
  transitionFacts: (snapshot) => {
    const ctx: AgentContext = snapshot.context;
    return { step: ctx.step, tool: ctx.current?.call.name ?? null, reason: ctx.outcome?.reason };
  },
  crashed: (snapshot, where, error, now) => {
    const ctx: AgentContext = snapshot.context;
    return { reason: 'INTERNAL_ERROR', runId: ctx.runId, agentId: ctx.agentId, turns: ctx.usage.turns, usage: ctx.usage, endedAt: now, where, error: toErrorInfo(error) };
  },
};

/**
 * One agent run hosted in this process: operator controls (approvals
 * included), live status, and an outcome promise that always resolves with a
 * TerminalOutcome.
 */
export class AgentRun extends HostedRun<AgentMachine> {
  constructor(machine: AgentMachine, origin: RunOrigin, options: AgentRunOptions) {
    super(machine, origin, options, AGENT_VIEW);
  }

  /** Approves the call the run is waiting on. */
  approve(by: string): void {
    this.send({ type: 'APPROVE', by });
  }

  /** Rejects the call the run is waiting on; the model re-plans with the feedback. */
  reject(by: string, feedback: string): void {
    this.send({ type: 'REJECT', by, feedback });
  }
}
