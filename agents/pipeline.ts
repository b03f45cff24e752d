import { z } from 'zod';
import { hashValue } from '../guards/action.js';
import { Limits } from '../guards/budget.js';
import { CHART_MIGRATIONS, CHART_VERSIONS, PIPELINE_MACHINE_ID } from '../machines/migrations/index.js';
import { FanOutPolicy, type ChildRef, type PipelineInput, type StageResult } from '../machines/pipeline-context.js';
import {
  BUILTIN_PIPELINE_GUARDS,
  createPipelineMachine,
  ROUTE_ENDS,
  type GuardExpr,
  type PipelineMachine,
  type PipelineView,
  type RouteSpec,
  type StageSpec,
} from '../machines/pipeline-machine.js';
import type { Command } from '../persistence/records.js';
import type { RunOrigin } from './agent-run.js';
import { inert as inertMachine } from './offline-control.js';
import { PipelineRun, pipelineFacts } from './pipeline-run.js';
import { stageActor } from './pipeline-stage.js';
import { definitionOf, type Hostable, type RunDefinition } from './run-definition.js';
import { checkExplicitVersion, computedVersion, type Versioning } from './stored-version.js';

/** What a pipeline's guards, plans and merges read, typed by its input and data. */
export interface PipelineViewOf<I, D> extends PipelineView {
  readonly input: I;
  readonly data: D;
}

/** Where a stage goes next: another stage, `complete`, or `escalate` to a human (with why). */
export type Route<S extends string, I, D> =
  | { readonly when?: GuardExpr; readonly to: S | 'complete'; readonly decidedBy?: (view: PipelineViewOf<I, D>) => ChildRef | null }
  | { readonly when?: GuardExpr; readonly to: 'escalate'; readonly why: (view: PipelineViewOf<I, D>) => string; readonly decidedBy?: (view: PipelineViewOf<I, D>) => ChildRef | null };

/** One child a fan-out stage asks for: `key` names it in results and evidence (default: its index). */
export interface ChildRequest {
  readonly key?: string;
  readonly input: unknown;
  readonly limits?: z.input<typeof Limits>;
}

/** One stage: who runs its children, which children, how they fan out, how their results fold in, and where to go next. */
export interface StageOptions<S extends string, I, D> {
  /** The agent (or pipeline) every child of this stage runs. */
  readonly agent: Hostable;
  /** A single child with this input … */
  readonly input?: (view: PipelineViewOf<I, D>) => unknown;
  /** … or one child per request (a fan-out). Pure: a restored pipeline asks again and must get the same children. */
  readonly children?: (view: PipelineViewOf<I, D>) => readonly ChildRequest[];
  /** Default `all`. */
  readonly policy?: FanOutPolicy;
  /** Children running at once; default 4. */
  readonly concurrency?: number;
  /** Limits for every child of the stage (over its agent's). */
  readonly limits?: z.input<typeof Limits>;
  /** Folds the stage's result into the pipeline's data; validated by the data schema. */
  readonly merge?: (data: D, result: StageResult, view: PipelineViewOf<I, D>) => D;
  /** A stage name, `complete`, or routes tried in order (the last without `when`). A failed `all` or quorum stage ends the pipeline first. */
  readonly next: S | 'complete' | readonly Route<S, I, D>[];
}

export interface PipelineOptions<I, D, S extends string> {
  readonly id: string;
  /** Validates a run's input; default: any JSON. */
  readonly input?: z.ZodType<I>;
  /** The pipeline's own state: its schema (checked after every merge) and its value at the start. Default: no data. */
  readonly data?: { readonly schema: z.ZodType<D>; readonly initial: (input: I) => D };
  /** What the run is for, as operators read it; default "<id> pipeline". */
  readonly goal?: string | ((input: I) => string);
  /** Declared in order; the first one starts. */
  readonly stages: { readonly [K in S]: StageOptions<NoInfer<S>, I, D> };
  /** Named routing guards, e.g. `qcScoreBelow80`, `refineAttemptsLeft`: they read stage outcomes and data. */
  readonly guards?: Readonly<Record<string, (view: PipelineViewOf<I, D>) => boolean>>;
  /** A COMPLETED pipeline's result; default: its data. */
  readonly result?: (view: PipelineViewOf<I, D>) => unknown;
  /** The pipeline's own limit: a wall-clock deadline over all its stages. */
  readonly limits?: { readonly maxWallClockMs?: number };
  /** Overrides the computed version (a hash of the chart and the stage declarations); bump it when stored runs must not resume. */
  readonly version?: string;
  /** The clock, for tests. */
  readonly now?: () => number;
}

/** A defined pipeline: its machine (inspectable, testable) and its run definition; it runs on a Supervisor. */
export interface Pipeline<I = unknown> {
  readonly kind: 'pipeline';
  readonly id: string;
  /** The pipeline machine with no actors bound: give it to the Stately inspector or visualizer, or walk it in tests. */
  readonly machine: PipelineMachine;
  readonly version: string;
  readonly stages: readonly string[];
  /** What the Supervisor hosts. */
  readonly definition: RunDefinition;
  /** Types `supervisor.start(pipeline, { input })`. */
  readonly _input?: I;
}

export { PIPELINE_MACHINE_ID };

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const definedWith = new WeakMap<Pipeline<any>, PipelineOptions<any, any, string>>();

/** The options a pipeline was defined with: reins/testing redefines it with its stages' agents scripted and a virtual clock. */
export function pipelineOptionsOf<I>(pipeline: Pipeline<I>): PipelineOptions<I, unknown, string> | undefined {
  return definedWith.get(pipeline) as PipelineOptions<I, unknown, string> | undefined;
}
const PIPELINE_COMMANDS: ReadonlySet<Command['type']> = new Set(['PAUSE', 'RESUME', 'KILL']);
const DEFAULT_CONCURRENCY = 4;

const Id = z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/, 'pipeline ids are 1-64 letters, digits, _ . or -');
const StageName = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9_-]{0,31}$/, 'stage names are 1-32 letters, digits, _ or -, starting with a letter (they become parts of child run ids)')
  .refine((n) => !(ROUTE_ENDS as readonly string[]).includes(n) && !['start', 'running', 'routing', 'paused'].includes(n), 'this name is reserved');
const fn = z.custom<(...args: never[]) => unknown>((v) => typeof v === 'function', 'expected a function');
const GuardExprSchema = z.union([z.string(), z.array(z.string()).min(1), z.strictObject({ not: z.string() })]);
const RouteSchema = z.strictObject({ when: GuardExprSchema.optional(), to: z.string(), why: fn.optional(), decidedBy: fn.optional() });
/** The declaration's data, checked once at definition time; functions are only checked to be functions. */
const StageSchema = z
  .strictObject({
    agent: z.custom<Hostable>((v) => typeof v === 'object' && v !== null && 'id' in v, 'expected an agent or a pipeline'),
    input: fn.optional(),
    children: fn.optional(),
    policy: FanOutPolicy.default('all'),
    concurrency: z.number().int().positive().default(DEFAULT_CONCURRENCY),
    limits: Limits.optional(),
    merge: fn.optional(),
    next: z.union([z.string(), z.array(RouteSchema).min(1)]),
  })
  .refine((s) => (s.input === undefined) !== (s.children === undefined), 'a stage has either input (one child) or children (a fan-out)');

/** Guard names a route uses. */
function guardNames(when: GuardExpr): string[] {
  if (typeof when === 'string') return [when];
  if ('not' in when) return [(when as { not: string }).not];
  return [...(when as readonly string[])];
}

/**
 * Defines a pipeline: stages that run agents (one child, or a fan-out with a
 * declared policy and concurrency limit), routed on their children's typed
 * outcomes by named guards, ending in one pipeline-level TerminalOutcome that
 * names the stage and child run that decided it. Checked here: stage names,
 * policies, limits, that every route names a stage or an end, that every
 * guard exists, and that the last route of each stage has no condition.
 */
export function definePipeline<I = unknown, D = null, S extends string = string>(options: PipelineOptions<I, D, S>): Pipeline<I> {
  const id = Id.parse(options.id);
  const now = options.now ?? Date.now;
  const guards = options.guards ?? {};
  for (const name of Object.keys(guards)) {
    if ((BUILTIN_PIPELINE_GUARDS as readonly string[]).includes(name)) throw new Error(`pipeline ${id}: guard ${name} is built in; choose another name`);
  }
  const declared = Object.entries(options.stages) as Array<[string, StageOptions<S, I, D>]>;
  if (declared.length === 0) throw new Error(`pipeline ${id}: declare at least one stage`);
  const names = new Set(declared.map(([name]) => name));
  const uses = new Map<string, RunDefinition>();
  const view = (v: PipelineView) => v as PipelineViewOf<I, D>;

  const stages: StageSpec[] = declared.map(([rawName, stage]) => {
    const name = StageName.parse(rawName);
    const parsed = StageSchema.safeParse(stage);
    if (!parsed.success) throw new Error(`pipeline ${id}, stage ${name}: ${z.prettifyError(parsed.error)}`);
    const s = parsed.data;
    const definition = definitionOf(stage.agent);
    const known = uses.get(definition.id);
    if (known && known !== definition) throw new Error(`pipeline ${id}: two different definitions are named ${definition.id}`);
    uses.set(definition.id, definition);
    const routes: RouteSpec[] = (typeof stage.next === 'string' ? [{ to: stage.next }] : (stage.next as readonly Route<S, I, D>[])).map((r, index, all) => {
      if (!names.has(r.to) && !(ROUTE_ENDS as readonly string[]).includes(r.to)) throw new Error(`pipeline ${id}, stage ${name}: route to unknown stage ${r.to}`);
      if (r.when !== undefined) {
        for (const g of guardNames(r.when)) if (!(g in guards) && !(BUILTIN_PIPELINE_GUARDS as readonly string[]).includes(g)) throw new Error(`pipeline ${id}, stage ${name}: unknown guard ${g}`);
        if (index === all.length - 1) throw new Error(`pipeline ${id}, stage ${name}: the last route must have no condition, so that some route always matches`);
      }
      if (r.to === 'escalate' && !('why' in r)) throw new Error(`pipeline ${id}, stage ${name}: a route to escalate says why`);
      return {
        when: r.when ?? null,
        to: r.to,
        ...('why' in r && r.why ? { why: (v: PipelineView) => r.why(view(v)) } : {}),
        ...(r.decidedBy ? { decidedBy: (v: PipelineView) => r.decidedBy!(view(v)) } : {}),
      };
    });
    const childLimits = s.limits;
    return {
      name,
      agentId: definition.id,
      policy: s.policy,
      concurrency: s.concurrency,
      plan: (v) => {
        const requests = stage.children ? stage.children(view(v)) : [{ key: name, input: stage.input!(view(v)) }];
        return requests.map((r, i) => {
          const limits = r.limits || childLimits ? Limits.parse({ ...childLimits, ...r.limits }) : undefined;
          return { key: r.key ?? String(i), input: toJson(r.input), ...(limits ? { limits } : {}) };
        });
      },
      merge: stage.merge ? (v, result) => stage.merge!(view(v).data, result, view(v)) : null,
      routes,
    };
  });

  const dataSchema = options.data?.schema ?? z.null();
  const machine = createPipelineMachine({
    stages,
    guards: Object.fromEntries(Object.entries(guards).map(([name, g]) => [name, (v: PipelineView) => g(view(v))])),
    result: (v) => toJson(options.result ? options.result(view(v)) : v.data),
    checkData: (data) => toJson(dataSchema.parse(data)),
    now,
  });
  const stageShape = stages.map((s) => ({ name: s.name, agent: s.agentId, policy: s.policy, concurrency: s.concurrency, routes: s.routes.map((r) => ({ when: r.when, to: r.to })) }));
  const version = options.version === undefined ? computedVersion({ stages: stageShape }) : checkExplicitVersion(`pipeline ${id}`, options.version);
  const chartVersion = CHART_VERSIONS[PIPELINE_MACHINE_ID]!;
  const versioning: Versioning = {
    chart: chartVersion,
    tools: null,
    // The release before chart versions hashed the chart with the stages; while the pipeline chart is still v1 that hash is
    // recomputed from it (this chart's definition depends on the stages, so it cannot be frozen once for all pipelines).
    legacy: options.version === undefined && chartVersion === 1 ? hashValue({ chart: JSON.parse(JSON.stringify(machine.definition)) as unknown, stages: stageShape }) : null,
    migrations: [],
    chartMigrations: CHART_MIGRATIONS,
  };
  const inputSchema = options.input ?? z.json();
  const goalOf = (input: I) => (typeof options.goal === 'function' ? options.goal(input) : options.goal ?? `${id} pipeline`);
  const ownLimits = Limits.parse(options.limits ?? {});
  let inert: PipelineMachine | null = null;

  const definition: RunDefinition = {
    kind: 'pipeline',
    id,
    machineId: PIPELINE_MACHINE_ID,
    version,
    versioning,
    uses: [...uses.values()],
    commands: PIPELINE_COMMANDS,
    initialInput: (o): PipelineInput => {
      const input = inputSchema.parse(o.input ?? null) as I;
      const data = options.data ? options.data.initial(input) : null;
      const limits = o.limits ? Limits.parse({ ...ownLimits, ...o.limits }) : ownLimits;
      return { runId: o.runId, agentId: id, goal: goalOf(input), input: toJson(input), data: toJson(dataSchema.parse(data)), limits, startedAt: now() };
    },
    handle: (env, origin, runOptions) =>
      new PipelineRun(
        env ? machine.provide({ actors: { runStage: stageActor(env.children, env.trace as never) } }) : (inert ??= inertMachine(machine)),
        origin as RunOrigin<PipelineInput>,
        runOptions,
      ),
    facts: pipelineFacts,
  };

  const pipeline: Pipeline<I> = { kind: 'pipeline', id, machine, version, stages: stages.map((s) => s.name), definition };
  definedWith.set(pipeline, options as PipelineOptions<unknown, unknown, string>);
  return pipeline;
}

/** Pipeline inputs, data and results are stored: they must be JSON (undefined becomes null). */
function toJson(value: unknown): z.core.util.JSONType {
  if (value === undefined) return null;
  return JSON.parse(JSON.stringify(value)) as z.core.util.JSONType;
}
