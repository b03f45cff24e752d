import { createActor, type Actor, type ActorOptions, type InspectionEvent, type Observer, type Snapshot } from 'xstate';
import { stateName, type AgentMachine } from '../machines/agent-machine.js';
import type { AgentContext, AgentInput } from '../machines/agent-context.js';
import { toErrorInfo, type TerminalOutcome } from '../machines/outcome.js';
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
export type RunOrigin = { readonly input: AgentInput } | { readonly snapshot: Snapshot<unknown>; readonly runId: string; readonly agentId: string };

/**
 * One agent run hosted in this process: operator controls, live status, and
 * an outcome promise that always resolves with a TerminalOutcome (it never
 * rejects, so an ignored run cannot become an unhandled rejection).
 */
export class AgentRun {
  readonly runId: string;
  readonly agentId: string;
  /** Resolves once, with the run's one terminal outcome. */
  readonly outcome: Promise<TerminalOutcome>;
  readonly actor: Actor<AgentMachine>;
  readonly #options: AgentRunOptions;
  readonly #recent: Transition[] = [];
  readonly #listeners = new Set<(status: RunStatus) => void>();
  #lastState: string;
  #lastEvent = 'xstate.init';
  #crashed: TerminalOutcome | null = null;
  #settle!: (outcome: TerminalOutcome) => void;
  #settled = false;

  constructor(machine: AgentMachine, origin: RunOrigin, options: AgentRunOptions) {
    this.runId = 'input' in origin ? origin.input.runId : origin.runId;
    this.agentId = 'input' in origin ? origin.input.agentId : origin.agentId;
    this.#options = options;
    this.outcome = new Promise((resolve) => (this.#settle = resolve));
    const inspect = (event: InspectionEvent) => this.#onInspect(event);
    this.actor =
      'input' in origin
        ? createActor(machine, { input: origin.input, inspect })
        : // A restored actor never reads its input, but the options type still asks for one.
          createActor(machine, { snapshot: origin.snapshot, inspect } as ActorOptions<AgentMachine> & { input: AgentInput });
    // A fresh run's first transition is "created → planning"; a restored one continues from where it was.
    this.#lastState = 'input' in origin ? 'created' : stateName(this.actor.getSnapshot().value);
    this.actor.subscribe({
      next: (snapshot) => {
        this.#recordTransition();
        this.#emit();
        if (snapshot.status === 'done') this.#resolve(snapshot.output);
      },
      error: (error) => this.#fail(error),
    });
  }

  /** Starts the run; returns this for chaining. */
  start(): this {
    this.actor.start();
    return this;
  }

  /** Asks the run to pause; it pauses once the in-flight call settles (at once when it is waiting). */
  pause(by: string, why: string): void {
    this.actor.send({ type: 'PAUSE', by, why });
  }

  /** Resumes a paused run where it was. */
  resume(by: string): void {
    this.actor.send({ type: 'RESUME', by });
  }

  /** Ends the run USER_KILLED, aborting any in-flight call through its AbortSignal. */
  kill(by: string, why: string): void {
    this.actor.send({ type: 'KILL', by, why });
  }

  /** Approves the call the run is waiting on. */
  approve(by: string): void {
    this.actor.send({ type: 'APPROVE', by });
  }

  /** Rejects the call the run is waiting on; the model re-plans with the feedback. */
  reject(by: string, feedback: string): void {
    this.actor.send({ type: 'REJECT', by, feedback });
  }

  /** The snapshot as XState persists it (JSON-safe). */
  persisted(): Snapshot<unknown> {
    return this.actor.getPersistedSnapshot();
  }

  /** Sends any lifecycle event, e.g. a command received from another process. */
  send(event: Parameters<Actor<AgentMachine>['send']>[0]): void {
    this.actor.send(event);
  }

  /** What the run is doing now. */
  status(): RunStatus {
    const snapshot = this.actor.getSnapshot();
    const context = this.#crashed ? { ...snapshot.context, outcome: this.#crashed } : snapshot.context;
    return statusOf(this.#crashed ? 'internalError' : stateName(snapshot.value), context, [...this.#recent], this.#options.now(), this.#options.redactArgs);
  }

  /** Calls `listener` with the status after every transition; returns the unsubscribe function. */
  onStatus(listener: (status: RunStatus) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The event being processed comes from inspection, which XState reports before it notifies subscribers. */
  #onInspect(event: InspectionEvent): void {
    this.#forwardInspection(event);
    if (event.type === '@xstate.event' && event.actorRef === this.actor) this.#lastEvent = event.event.type;
  }

  /** Records a transition when the state changed; called before listeners see the new status. */
  #recordTransition(): void {
    const snapshot = this.actor.getSnapshot();
    const to = stateName(snapshot.value);
    const from = this.#lastState;
    if (to === from) return;
    this.#lastState = to;
    const transition: Transition = { at: this.#options.now(), from, to, event: this.#lastEvent };
    this.#recent.push(transition);
    if (this.#recent.length > RECENT_TRANSITIONS) this.#recent.shift();
    const ctx: AgentContext = snapshot.context;
    this.#options.onTransition?.({ ...transition, step: ctx.step });
    this.#options.logger.info(
      { runId: this.runId, agent: this.agentId, step: ctx.step, from, to, event: transition.event, tool: ctx.current?.call.name ?? null, reason: ctx.outcome?.reason },
      'transition',
    );
  }

  #forwardInspection(event: InspectionEvent): void {
    const inspect = this.#options.inspect;
    if (!inspect) return;
    if (typeof inspect === 'function') inspect(event);
    else inspect.next?.(event);
  }

  /** A throw inside the machine itself (a guard or action in user code): the run still ends typed. */
  #fail(error: unknown): void {
    const ctx = this.actor.getSnapshot().context;
    const outcome: TerminalOutcome = {
      reason: 'INTERNAL_ERROR',
      runId: this.runId,
      agentId: this.agentId,
      turns: ctx.usage.turns,
      usage: ctx.usage,
      endedAt: this.#options.now(),
      where: this.#lastState,
      error: toErrorInfo(error),
    };
    this.#crashed = outcome;
    this.#options.logger.error({ runId: this.runId, agent: this.agentId, err: outcome.error }, 'run crashed');
    this.#emit();
    this.#resolve(outcome);
  }

  #resolve(outcome: TerminalOutcome): void {
    if (this.#settled) return;
    this.#settled = true;
    const before = this.#options.beforeOutcome?.(outcome) ?? Promise.resolve();
    before
      .catch((error: unknown) => this.#options.logger.error({ runId: this.runId, err: toErrorInfo(error) }, 'storing the outcome failed'))
      .finally(() => this.#settle(outcome));
  }

  #emit(): void {
    if (this.#listeners.size === 0) return;
    const status = this.status();
    for (const listener of this.#listeners) listener(status);
  }
}
