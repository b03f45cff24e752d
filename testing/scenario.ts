import type { z } from 'zod';
import { AgentRun, type HostedRun } from '../agents/agent-run.js';
import type { Agent } from '../agents/define-agent.js';
import { ReinsError } from '../agents/errors.js';
import { createLogger, type Logger } from '../agents/logger.js';
import type { RunObserver } from '../agents/observer.js';
import type { Pipeline } from '../agents/pipeline.js';
import type { Hostable } from '../agents/run-definition.js';
import type { RunStatus, Transition } from '../agents/status.js';
import { Supervisor } from '../agents/supervisor.js';
import type { Limits } from '../guards/budget.js';
import type { AgentContext } from '../machines/agent-context.js';
import { approvalItemId } from '../machines/agent-machine.js';
import type { TerminalOutcome } from '../machines/outcome.js';
import { MemoryStore } from '../persistence/memory-store.js';
import type { RunRecord, TraceEntry } from '../persistence/records.js';
import type { SnapshotStore } from '../persistence/store.js';
import { realSleep, VirtualClock } from './clock.js';
import { settle } from './settle.js';
import { CallLog, type CallRecord, type MockTool } from './mock-tool.js';
import { agentsIn, rebuildHostable, UnknownStageAgentError, type AgentScript, type ModelScript } from './redefine.js';
import { recordedApprovals, replayScripts, type Divergence, type RecordedRun } from './recorded.js';
import { trackStore } from './tracked-store.js';

/** A decision for the next approval a run waits on; `expire` lets its deadline pass (the default once the list is spent). */
export type ApprovalScript = 'approve' | 'expire' | { readonly approve: { readonly by?: string; readonly arguments?: z.core.util.JSONType } } | { readonly reject: string };

/** An operator command given when a run reaches a state (`when`: a state name, or a test on its status), `afterMs` of virtual time later. */
export interface OperatorStep {
  readonly when?: string | ((status: RunStatus) => boolean);
  readonly do: 'pause' | 'resume' | 'kill';
  readonly afterMs?: number;
  readonly by?: string;
  readonly why?: string;
}

/** Everything a scenario can set; all optional but what the target needs (an agent's model script, say). */
export interface ScenarioOptions {
  /** The agent's model (for an agent target). */
  readonly model?: ModelScript;
  /** Mocks of the agent's tools (for an agent target); tools not mocked run as defined, recorded all the same. */
  readonly tools?: readonly MockTool[];
  /** Per agent id: the model and mocks of each stage's agent (a pipeline), or of the agent itself. */
  readonly agents?: Readonly<Record<string, AgentScript>>;
  /** 'virtual' (default): a fresh VirtualClock; or one you hold to read time; 'real' runs in real time. */
  readonly clock?: 'virtual' | 'real' | VirtualClock;
  /** Default: a fresh MemoryStore on the scenario's clock. */
  readonly store?: SnapshotStore;
  readonly input?: unknown;
  readonly limits?: z.input<typeof Limits>;
  readonly runId?: string;
  readonly seed?: number;
  /** Decisions for the approvals the run waits on, in order. */
  readonly approvals?: readonly ApprovalScript[];
  /** Operator commands, in order. */
  readonly operator?: readonly OperatorStep[];
  /** A recorded run (see fromRecorded): its model answers and tool results are replayed, and the first divergence is reported. */
  readonly recorded?: RecordedRun;
  /** Real milliseconds with nothing happening and no timer to move before the scenario gives up (default 5000). */
  readonly stuckAfterMs?: number;
  readonly logger?: Logger;
}

/** One child run of a pipeline scenario. */
export interface ChildResult {
  readonly runId: string;
  readonly agentId: string;
  readonly outcome: TerminalOutcome | null;
}

/** What a scenario returns: what a test asserts on. */
export interface ScenarioResult {
  readonly runId: string;
  readonly outcome: TerminalOutcome;
  /** Every tool attempt, in order, with input, attempt and idempotency key; a pipeline's children's too. */
  readonly calls: readonly CallRecord[];
  /** The run's transcript (messages and compaction markers), as stored. */
  readonly transcript: readonly unknown[];
  /** The run's trace, as stored: transitions, model and tool calls, controls. */
  readonly trace: readonly TraceEntry[];
  /** The run's terminal record. */
  readonly record: RunRecord | null;
  /** A pipeline's child runs (empty for an agent). */
  readonly children: readonly ChildResult[];
  /** State changes of every agent run, in order. */
  readonly transitions: ReadonlyArray<Transition & { readonly runId: string }>;
  /** Virtual milliseconds from start to outcome (real ones with clock 'real'). */
  readonly elapsedMs: number;
  /** With `recorded`: the first call where the run went another way than the recording, or null when it replayed exactly. */
  readonly divergence: Divergence | null;
  readonly store: SnapshotStore;
  /** Attempts of one tool. */
  callsTo(tool: string): CallRecord[];
  /** Logical calls of one tool (attempts, retries and restores of one call count once). */
  logicalCalls(tool: string): number;
  /** Logical calls of one tool whose side effect took place. */
  effects(tool: string): number;
}

/** The run waits on something no timer, approval or operator step will bring (a mock that hangs with no timeout, say). */
export class ScenarioStuckError extends ReinsError {
  readonly status: readonly RunStatus[];
  constructor(status: readonly RunStatus[], waitedMs: number) {
    super('scenario-stuck', `nothing happened for ${waitedMs} ms and no timer is set; runs: ${status.map((s) => `${s.runId} in ${s.state}`).join(', ')}`);
    this.status = status;
  }
}

/** Options that do not fit the target (a top-level model for a pipeline, say). */
export class ScenarioOptionsError extends ReinsError {
  constructor(message: string) {
    super('scenario-options', message);
  }
}

/** A scenario's target: an agent or a pipeline made by defineAgent / definePipeline. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type ScenarioTarget = Agent<any> | Pipeline<any>;

const SCENARIO_LEASE_MS = 60 * 60_000;

/** Runs one run of the agent or pipeline to its end with scripted models, mock tools and a virtual clock, and returns what happened. */
export async function scenario(target: ScenarioTarget, options: ScenarioOptions = {}): Promise<ScenarioResult> {
  const calls = new CallLog();
  const clock = options.clock === 'real' ? null : options.clock instanceof VirtualClock ? options.clock : new VirtualClock();
  const logger = options.logger ?? createLogger({ level: 'silent' });
  const scripts = scriptsOf(target, options);
  let divergence: Divergence | null = null;
  if (options.recorded) {
    const replay = replayScripts(options.recorded, scripts, (d) => (divergence ??= d));
    for (const [id, s] of replay) scripts.set(id, s);
  }
  const rebuilt = rebuildHostable(target as Hostable, { scripts, now: clock?.now ?? Date.now, logger, calls });
  // The default store keeps the scenario's time too: leases and shared rate limits move with the virtual clock.
  const tracked = trackStore(options.store ?? new MemoryStore(clock ? { now: clock.now } : {}));
  const transitions: Array<Transition & { runId: string }> = [];
  let driver: Driver | null = null;
  const observer: RunObserver = {
    onTransition: (run, t) => {
      transitions.push({ runId: run.runId, at: t.at, from: t.from, to: t.to, event: t.event });
      driver?.onTransition(run, t.to);
    },
  };
  const restore = clock?.install();
  let supervisor: Supervisor | null = null;
  try {
    // Leases are judged on the store's clock: the virtual one for the default store, the real one for a store given.
    const leaseClock = clock && !options.store ? { now: clock.now } : {};
    supervisor = await Supervisor.open({ store: tracked.store, agents: [rebuilt], leaseMs: SCENARIO_LEASE_MS, logger, observers: [observer], ...leaseClock });
    const startedAt = clock?.now() ?? Date.now();
    // A replay keeps the recording's run id, so that its child runs have the recorded ids too.
    const runId = options.runId ?? options.recorded?.runId;
    const input = options.input ?? (options.recorded?.input === null ? undefined : options.recorded?.input);
    const run = await supervisor.startRun(target.id, {
      ...(input !== undefined ? { input } : {}),
      ...(runId ? { runId } : {}),
      ...(options.seed !== undefined ? { seed: options.seed } : {}),
      ...(options.limits ? { limits: options.limits } : {}),
    });
    driver = new Driver(supervisor, run, { approvals: options.approvals ?? (options.recorded ? recordedApprovals(options.recorded) : []), operator: options.operator ?? [] });
    const outcome = await drive(run, clock, tracked.inFlight, tracked.activity, driver, options.stuckAfterMs ?? 5_000);
    const elapsedMs = (clock?.now() ?? Date.now()) - startedAt;
    const expected = options.recorded?.outcome;
    if (expected && divergence === null && expected.reason !== outcome.reason) {
      divergence = { runId: run.runId, at: 'outcome', index: 0, expected: expected.reason, actual: outcome.reason, message: `the recording ended ${expected.reason}; the replay ended ${outcome.reason}` };
    }
    const store = tracked.store;
    const children = run instanceof AgentRun ? [] : await childrenOf(store, run.runId);
    return resultOf({
      runId: run.runId,
      outcome,
      calls: calls.calls,
      transcript: await store.transcriptRead(run.runId),
      trace: await store.traceRead(run.runId),
      record: await store.load(run.runId),
      children,
      transitions,
      elapsedMs,
      divergence,
      store: options.store ?? store,
    });
  } finally {
    await supervisor?.close();
    restore?.();
  }
}

/** Builds the result with its helpers. */
function resultOf(fields: Omit<ScenarioResult, 'callsTo' | 'logicalCalls' | 'effects'>): ScenarioResult {
  const of = (tool: string) => fields.calls.filter((c) => c.tool === tool);
  return {
    ...fields,
    callsTo: of,
    logicalCalls: (tool) => new Set(of(tool).map((c) => c.logicalCall)).size,
    effects: (tool) => new Set(of(tool).filter((c) => c.applied).map((c) => c.logicalCall)).size,
  };
}

/** The scripts per agent id: the top-level model and tools are the target agent's. */
function scriptsOf(target: ScenarioTarget, options: ScenarioOptions): Map<string, AgentScript> {
  const scripts = new Map<string, AgentScript>(Object.entries(options.agents ?? {}));
  const known = [...agentsIn(target as Hostable).keys()];
  for (const id of scripts.keys()) {
    if (!known.includes(id)) throw new UnknownStageAgentError(target.id, id, known);
  }
  if (options.model || options.tools) {
    if ('kind' in target) throw new ScenarioOptionsError(`${target.id} is a pipeline: give each stage's agent its script under \`agents\``);
    scripts.set(target.id, { ...scripts.get(target.id), ...(options.model ? { model: options.model } : {}), ...(options.tools ? { tools: options.tools } : {}) });
  }
  return scripts;
}

/** Child runs of a pipeline, oldest first. */
async function childrenOf(store: SnapshotStore, parentId: string): Promise<ChildResult[]> {
  const summaries = (await store.list({ parentId })).sort((a, b) => a.createdAt - b.createdAt || a.runId.localeCompare(b.runId));
  const out: ChildResult[] = [];
  for (const s of summaries) {
    const record = await store.load(s.runId);
    out.push({ runId: s.runId, agentId: s.agentId, outcome: (record?.outcome as TerminalOutcome | null) ?? null });
    out.push(...(await childrenOf(store, s.runId)));
  }
  return out;
}

/**
 * Runs until the outcome: lets real work settle (promises, store I/O), gives
 * the scripted approvals and operator commands, and otherwise moves virtual
 * time to the next timer.
 */
async function drive(
  run: HostedRun,
  clock: VirtualClock | null,
  inFlight: () => number,
  activity: () => number,
  driver: Driver,
  stuckAfterMs: number,
): Promise<TerminalOutcome> {
  let outcome: TerminalOutcome | null = null;
  void run.outcome.then((o) => (outcome = o));
  let idleSince = Date.now();
  while (outcome === null) {
    await settle(clock, inFlight, activity);
    if (outcome !== null) break;
    if (driver.act()) {
      idleSince = Date.now();
      continue;
    }
    if (clock?.next()) {
      idleSince = Date.now();
      continue;
    }
    if (Date.now() - idleSince > stuckAfterMs) throw new ScenarioStuckError(driver.statuses(), stuckAfterMs);
    await realSleep(5);
  }
  return outcome;
}

/** Gives a run's scripted approvals and operator commands when it is ready for them. */
class Driver {
  readonly #supervisor: Supervisor;
  readonly #root: HostedRun;
  readonly #approvals: ApprovalScript[];
  readonly #operator: OperatorStep[];
  readonly #decided = new Set<string>();
  #armed = false;

  constructor(supervisor: Supervisor, root: HostedRun, options: Pick<ScenarioOptions, 'approvals' | 'operator'>) {
    this.#supervisor = supervisor;
    this.#root = root;
    this.#approvals = [...(options.approvals ?? [])];
    this.#operator = [...(options.operator ?? [])];
  }

  /** Every hosted run's status. */
  statuses(): RunStatus[] {
    return this.#supervisor.runs().map((r) => r.status());
  }

  /** Gives the next scripted approval, or arms the next operator step that waits for no state; true when it did. */
  act(): boolean {
    const step = this.#operator[0];
    if (step && step.when === undefined && !this.#armed) {
      this.#arm(step);
      return true;
    }
    return this.#approve();
  }

  /** Called with every agent run's transitions: an operator step waiting for this state is armed at once, before the run moves on. */
  onTransition(run: HostedRun, to: string): void {
    const step = this.#operator[0];
    if (!step || step.when === undefined || this.#armed) return;
    if (typeof step.when === 'string' ? to === step.when || to.split('.').includes(step.when) : step.when(run.status())) this.#arm(step);
  }

  #arm(step: OperatorStep): void {
    this.#armed = true;
    const go = () => {
      this.#operator.shift();
      this.#armed = false;
      const by = step.by ?? 'scenario';
      if (step.do === 'pause') this.#root.pause(by, step.why ?? 'scenario');
      else if (step.do === 'resume') this.#root.resume(by);
      else this.#root.kill(by, step.why ?? 'scenario');
    };
    // Under the virtual clock this timer is virtual: the driver moves time to it when nothing else is due first.
    if (step.afterMs) setTimeout(go, step.afterMs);
    else queueMicrotask(go);
  }

  #approve(): boolean {
    for (const run of this.#supervisor.runs()) {
      if (!(run instanceof AgentRun) || run.status().status !== 'awaiting-approval') continue;
      const item = approvalItemId(run.actor.getSnapshot().context as AgentContext);
      if (this.#decided.has(item)) continue;
      this.#decided.add(item);
      const decision = this.#approvals.shift() ?? 'expire';
      if (decision === 'expire') continue;
      if (decision === 'approve') run.approve('scenario');
      else if ('reject' in decision) run.reject('scenario', decision.reject);
      else run.send({ type: 'APPROVE', by: decision.approve.by ?? 'scenario', ...(decision.approve.arguments !== undefined ? { arguments: decision.approve.arguments } : {}) });
      return true;
    }
    return false;
  }
}
