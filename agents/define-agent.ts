import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { hashValue } from '../guards/action.js';
import { CircuitPolicy } from '../guards/circuit.js';
import { CompactionPolicy, compactionThresholdTokens, contextWindowOf } from '../guards/compaction.js';
import { DEFAULT_PRICES, type PriceTable } from '../guards/cost.js';
import { LoopPolicy } from '../guards/loop.js';
import { RunLimits } from '../guards/nested-budget.js';
import { heuristicJudge, ProgressPolicy, type ProgressJudge } from '../guards/progress.js';
import { seedFrom } from '../guards/random.js';
import { RetryPolicy } from '../guards/retry.js';
import { DEFAULT_MAX_ARGUMENT_BYTES } from '../guards/validate.js';
import { createAgentMachine, type AgentMachine, type AgentSpec, type ToolPolicy } from '../machines/agent-machine.js';
import type { AgentInput } from '../machines/agent-context.js';
import { AGENT_MACHINE_ID, CHART_MIGRATIONS, CHART_VERSIONS } from '../machines/migrations/index.js';
import { AGENT_CHART_V1 } from '../machines/migrations/legacy.js';
import type { TranscriptEntry } from '../machines/model-types.js';
import type { TerminalOutcome } from '../machines/outcome.js';
import { MemoryTranscriptStore, type TranscriptStore } from '../persistence/transcript.js';
import { buildActors, type ActorDeps, type RunEnvironment, type RunSystem } from './actors.js';
import { AgentRun, type AgentRunOptions } from './agent-run.js';
import { createLogger, type Logger } from './logger.js';
import type { Model, ToolSchema } from './model.js';
import type { RateLimiter } from './rate-limits.js';
import { DEFAULT_SECRET_KEYS, redact } from './redact.js';
import { checkExplicitVersion, computedVersion, type AgentMigration, type Versioning } from './stored-version.js';
import type { ToolDefinition } from './tool.js';
import type { AnswerCheck, Verify } from './verify.js';

/** Everything that defines an agent; only `id`, `goal` and `model` are required. */
export interface AgentOptions<I = unknown, R extends z.ZodType = z.ZodUnknown> {
  id: string;
  /** The task, fixed or built from each run's input; it is the first user message and what the progress judge measures against. */
  goal: string | ((input: I) => string);
  /** The system prompt. */
  instructions?: string;
  model: Model;
  tools?: readonly ToolDefinition[];
  /** Spend (turns, tokens, cost, wall clock) and fan-out (maxDescendants, maxDepth) limits; a sub-run gets the smaller of these and what its parent has left. */
  limits?: z.input<typeof RunLimits>;
  loop?: z.input<typeof LoopPolicy>;
  /** false turns the progress check off; a judge replaces the heuristic one (e.g. `modelJudge({ model })`). */
  progress?: false | (z.input<typeof ProgressPolicy> & { judge?: ProgressJudge });
  /**
   * Context compaction (on by default): past `threshold` of the context window
   * the middle of the transcript is replaced by a summary, keeping the system
   * prompt, the goal and the last `keepRecentTurns` turns. The window is the
   * policy's, else the model's, else DEFAULT_CONTEXT_WINDOWS by model id;
   * unknown, only output cut off at its length limit compacts. `summariser`:
   * a model that writes the summary; without one, a deterministic digest of
   * the tool calls and results. false turns it off.
   */
  compaction?: false | (z.input<typeof CompactionPolicy> & { summariser?: Model });
  /**
   * The answer's schema: an answer that does not parse goes back to the model
   * with the hint (like invalid tool input), and counts as a rejected answer.
   */
  result?: R;
  /**
   * Checks an answer before the run is COMPLETED (e.g. `modelVerifier({ model })`,
   * or code that reads the tool results in `run`): a rejection goes back to the
   * model with its reason; after `maxVerifyAttempts` rejected answers the run
   * ends RESULT_REJECTED. A COMPLETED outcome then carries `verified: { by, at }`.
   */
  verify?: Verify<z.output<R>>;
  /** Answers checked at most (the first included); the last one rejected ends the run RESULT_REJECTED. Default 3. */
  maxVerifyAttempts?: number;
  /** A verifier that gives no verdict within this ends the run INTERNAL_ERROR (a model verifier's own timeout is shorter and falls back). Default 60 s. */
  verifyTimeoutMs?: number;
  /** Restate the goal to the model every N turns (a user message); off by default. */
  goalReminderEveryTurns?: number;
  approval?: { timeoutMs?: number; onTimeout?: 'escalate' | 'replan' };
  /** A call whose outcome is unknown and that cannot be reconciled: end ACTION_IN_DOUBT (default) or ask a human. */
  inDoubt?: 'fail' | 'ask';
  modelRetry?: z.input<typeof RetryPolicy>;
  modelCircuit?: z.input<typeof CircuitPolicy>;
  modelTimeoutMs?: number;
  /** Merged over DEFAULT_PRICES. */
  prices?: PriceTable;
  maxArgumentBytes?: number;
  /** Argument and log keys hidden from logs and operator listings, on top of the defaults (password, token, apiKey, …). */
  redact?: readonly string[];
  /**
   * Where rate-limited tools take their tokens: `storeRateLimiter(store)` to
   * share limits with every worker on the store (a function is called when a
   * run first needs it). Default: one limiter per process.
   */
  rateLimiter?: RateLimiter | (() => RateLimiter);
  logger?: Logger;
  /** The clock, for tests. */
  now?: () => number;
  /**
   * The agent's version, stored with every run. Without it the version is
   * computed from the tool names, and a run stored by a definition with
   * fewer tools still resumes here (a removed tool refuses it). Set it, and
   * bump it, when stored runs must not simply resume: then `migrate` says
   * how a run of an older version becomes one of this version.
   */
  version?: string;
  /** How runs stored at older versions become runs of this one: one entry per older version that may still have runs in flight. */
  migrate?: AgentMigration | readonly AgentMigration[];
}

/** How to start one run. */
export interface StartOptions<I = unknown> {
  input?: I;
  runId?: string;
  /** Seeds backoff jitter; defaults to one derived from the run id, so a run replays identically. */
  seed?: number;
  /** Limits for this run, over the agent's. */
  limits?: z.input<typeof RunLimits>;
  transcripts?: TranscriptStore<TranscriptEntry>;
  logger?: Logger;
  inspect?: AgentRunOptions['inspect'];
}

/** A defined agent: its machine (inspectable, testable) and a way to run it in this process. */
export interface Agent<I = unknown> {
  readonly id: string;
  /** The lifecycle machine with this agent's actors; each run's actors use the environment bound to its actor system (an in-memory one by default). */
  readonly machine: AgentMachine;
  /** The chart with no actors bound: restores and offline commands use it. */
  readonly chart: AgentMachine;
  /** Stored with every snapshot; a stored run of another version is migrated or refused, never guessed at. */
  readonly version: string;
  /** Which stored runs this agent hosts: its chart version, tools and migrations. */
  readonly versioning: Versioning;
  /** The machine's policies, for tests and tooling. */
  readonly spec: AgentSpec;
  readonly tools: ReadonlyMap<string, ToolDefinition>;
  /** Keys hidden from logs and operator listings (the defaults and the agent's `redact`). */
  readonly secretKeys: readonly string[];
  /** The agent's own limits (a run's may be narrower: its start options, or what its parent had left). */
  readonly limits: RunLimits;
  /** Gives the actors of the run whose actor system this is an environment (a transcript store, a logger, a clock, a journal); before the run starts. */
  bind(system: RunSystem, env: RunEnvironment): void;
  /** The machine input of a new run: goal, limits, start time, jitter seed. */
  initialInput(options?: Pick<StartOptions<I>, 'input' | 'runId' | 'seed' | 'limits'>): AgentInput;
  /** Starts a run and returns its handle. */
  start(options?: StartOptions<I>): AgentRun;
  /** Starts a run and waits for its outcome. */
  run(options?: StartOptions<I>): Promise<TerminalOutcome>;
}

const VerifyAttempts = z.number().int().min(1, 'maxVerifyAttempts must be a whole number, at least 1');

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const declared = new WeakMap<Agent<any>, AgentOptions<any, z.ZodType>>();

/** The options an agent was defined with: reins/testing redefines it with a scripted model, mock tools and a virtual clock. */
export function agentOptionsOf<I>(agent: Agent<I>): AgentOptions<I, z.ZodType> | undefined {
  return declared.get(agent) as AgentOptions<I, z.ZodType> | undefined;
}

const AgentId = z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/, 'agent ids are 1-64 letters, digits, _ . or -');

/** Defines an agent: a model, tools, and the limits and policies its supervisor enforces. */
export function defineAgent<I = unknown, R extends z.ZodType = z.ZodUnknown>(options: AgentOptions<I, R>): Agent<I> {
  AgentId.parse(options.id);
  const tools = new Map<string, ToolDefinition>();
  // The model adapter's reserved tools (reins_give_up, …) are offered and validated like the agent's own.
  for (const t of [...(options.tools ?? []), ...(options.model.reservedTools ?? [])]) {
    if (tools.has(t.name)) throw new Error(`agent ${options.id}: two tools are named ${t.name}`);
    tools.set(t.name, t);
  }
  const now = options.now ?? Date.now;
  const secretKeys = [...DEFAULT_SECRET_KEYS, ...(options.redact ?? [])];
  const limits = RunLimits.parse(options.limits ?? {});
  const progress = options.progress === false ? null : options.progress ?? {};
  const { summariser, ...compactionOptions } = options.compaction === false ? { summariser: undefined } : options.compaction ?? {};
  const compaction = options.compaction === false ? null : CompactionPolicy.parse(compactionOptions);
  const contextWindow = compaction?.contextWindow ?? options.model.contextWindow ?? contextWindowOf(options.model.id);
  if (options.goalReminderEveryTurns !== undefined && !(Number.isInteger(options.goalReminderEveryTurns) && options.goalReminderEveryTurns >= 1)) {
    throw new Error(`agent ${options.id}: goalReminderEveryTurns must be a whole number of turns, at least 1`);
  }

  const maxVerifyAttempts = VerifyAttempts.parse(options.maxVerifyAttempts ?? 3);
  const answerCheck: AnswerCheck | null =
    options.result || options.verify
      ? { schema: options.result ?? null, verify: (options.verify as Verify | undefined) ?? null, timeoutMs: options.verifyTimeoutMs ?? 60_000 }
      : null;

  const policies = new Map<string, ToolPolicy>();
  for (const t of tools.values()) {
    policies.set(t.name, {
      input: t.input,
      sideEffect: t.sideEffect,
      retry: t.retry,
      circuit: t.circuit,
      reconcilable: t.reconcile !== null,
      requiresApproval: (json) => t.requiresApproval(t.input.parse(json)),
      ...(t.approval?.timeoutMs != null ? { approvalTimeoutMs: t.approval.timeoutMs } : {}),
    });
  }
  const spec: AgentSpec = {
    tools: policies,
    loop: LoopPolicy.parse(options.loop ?? {}),
    progress: progress === null ? null : ProgressPolicy.parse(progress),
    modelRetry: RetryPolicy.parse(options.modelRetry ?? {}),
    modelCircuit: CircuitPolicy.parse(options.modelCircuit ?? {}),
    approval: { timeoutMs: options.approval?.timeoutMs ?? 15 * 60_000, onTimeout: options.approval?.onTimeout ?? 'escalate' },
    inDoubt: options.inDoubt ?? 'fail',
    prices: { ...DEFAULT_PRICES, ...options.prices },
    maxArgumentBytes: options.maxArgumentBytes ?? DEFAULT_MAX_ARGUMENT_BYTES,
    compaction: compaction && { thresholdTokens: contextWindow === undefined ? null : compactionThresholdTokens(contextWindow, compaction.threshold) },
    goalReminderEveryTurns: options.goalReminderEveryTurns ?? null,
    verify: answerCheck && { maxAttempts: maxVerifyAttempts },
    now,
  };
  const toolSchemas: ToolSchema[] = [...tools.values()].map((t) => ({
    name: t.name,
    description: t.description,
    inputSchema: z.toJSONSchema(t.input, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>,
  }));
  const deps: ActorDeps = {
    agentId: options.id,
    system: options.instructions ?? '',
    model: options.model,
    modelTimeoutMs: options.modelTimeoutMs ?? 120_000,
    tools,
    toolSchemas,
    judge: (progress && progress.judge) || heuristicJudge,
    secretKeys,
    prices: spec.prices,
    compaction: compaction && { policy: compaction, summariser: summariser ?? null },
    rateLimiter: options.rateLimiter ?? null,
    answerCheck,
  };
  const chart = createAgentMachine(spec);
  const toolNames = [...tools.keys()].sort();
  const version = options.version === undefined ? computedVersion({ tools: toolNames }) : checkExplicitVersion(`agent ${options.id}`, options.version);
  const versioning: Versioning = {
    chart: CHART_VERSIONS[AGENT_MACHINE_ID]!,
    tools: toolNames,
    // What the release before chart versions stored as this definition's version: a hash of its chart (v1) and tools.
    legacy: options.version === undefined ? hashValue({ chart: AGENT_CHART_V1, tools: toolNames }) : null,
    migrations: options.migrate === undefined ? [] : [options.migrate].flat(),
    chartMigrations: CHART_MIGRATIONS,
  };
  const defaultLogger = options.logger ?? createLogger({ redact: options.redact ?? [] });
  // Each run's actors find its environment through the run's actor system; an actor nobody bound (a test's
  // createActor(agent.machine)) gets an in-memory environment of its own.
  const environments = new WeakMap<RunSystem, RunEnvironment>();
  const bind = (system: RunSystem, env: RunEnvironment): void => void environments.set(system, env);
  const envOf = (system: RunSystem): RunEnvironment => {
    let env = environments.get(system);
    if (!env) environments.set(system, (env = { transcripts: new MemoryTranscriptStore<TranscriptEntry>(), logger: defaultLogger, now }));
    return env;
  };
  const machine: AgentMachine = chart.provide({ actors: buildActors(deps, envOf) });
  const goalOf = (input: I | undefined) => (typeof options.goal === 'function' ? options.goal(input as I) : options.goal);

  const initialInput = (o: Pick<StartOptions<I>, 'input' | 'runId' | 'seed' | 'limits'> = {}): AgentInput => {
    const runId = o.runId ?? randomUUID();
    const runLimits = o.limits ? RunLimits.parse({ ...limits, ...o.limits }) : limits;
    return { runId, agentId: options.id, goal: goalOf(o.input), limits: runLimits, startedAt: now(), seed: o.seed ?? seedFrom(runId) };
  };

  const start = (startOptions: StartOptions<I> = {}): AgentRun => {
    const logger = startOptions.logger ?? defaultLogger;
    const env: RunEnvironment = { transcripts: startOptions.transcripts ?? new MemoryTranscriptStore<TranscriptEntry>(), logger, now };
    const run = new AgentRun(
      machine,
      { input: initialInput(startOptions) },
      { logger, now, redactArgs: (v) => redact(v, secretKeys), ...(startOptions.inspect ? { inspect: startOptions.inspect } : {}) },
    );
    bind(run.actor.system, env);
    return run.start();
  };

  const agent: Agent<I> = {
    id: options.id,
    machine,
    chart,
    version,
    versioning,
    spec,
    tools,
    secretKeys,
    limits,
    bind,
    initialInput,
    start,
    run: (startOptions) => start(startOptions).outcome,
  };
  declared.set(agent, options);
  return agent;
}
