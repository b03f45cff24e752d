import { assign, fromPromise, raise, setup, type DoneActorEvent, type ErrorActorEvent } from 'xstate';
import { combineUsage } from '../guards/cost.js';
import { ZERO_USAGE } from '../guards/usage.js';
import { toErrorInfo, type OutcomeEvidence, type TerminalOutcome } from './outcome.js';
import {
  ChildPlan,
  childRunId,
  type ChildRef,
  type FanOutPolicy,
  type PipelineContext,
  type PipelineEvent,
  type PipelineInput,
  type StageResult,
  type StageRun,
} from './pipeline-context.js';

/** What routing guards, plans and merges read: the pipeline's input and state, how often each stage ran, and stage results. */
export interface PipelineView {
  readonly input: unknown;
  readonly data: unknown;
  readonly visits: Readonly<Record<string, number>>;
  /** The stage that just ended (while routing), else the latest one. */
  readonly last: StageResult | null;
  readonly results: Readonly<Record<string, StageResult>>;
}

/** A route's condition: a named guard, all of several (`['a', 'b']`), or the negation of one (`{ not: 'a' }`). */
export type GuardExpr = string | readonly string[] | { readonly not: string };

/** Where a stage goes when it ends: another stage, or one of the two ways a pipeline ends by design. */
export interface RouteSpec {
  readonly when: GuardExpr | null;
  /** A stage name, `complete` (COMPLETED with the pipeline's result) or `escalate` (ESCALATED to a human). */
  readonly to: string;
  /** Why a human must take over (escalate). */
  readonly why?: (view: PipelineView) => string;
  /** The child run that decided this end; by default the last stage's only child, if it had one. */
  readonly decidedBy?: (view: PipelineView) => ChildRef | null;
}

/** One stage as the machine needs it: pure functions and data, no I/O. */
export interface StageSpec {
  readonly name: string;
  /** The registered agent (or pipeline) every child of this stage runs. */
  readonly agentId: string;
  readonly policy: FanOutPolicy;
  readonly concurrency: number;
  /** The children to run, as a pure function of the view: a restored pipeline recomputes the same children and re-attaches to them. */
  readonly plan: (view: PipelineView) => readonly ChildPlan[];
  /** Folds the stage's result into the pipeline's data. */
  readonly merge: ((view: PipelineView, result: StageResult) => unknown) | null;
  /** Tried in order once the stage ended (after a failed stage has ended the pipeline); the last has no condition. */
  readonly routes: readonly RouteSpec[];
}

/** The policies of one pipeline's machine. */
export interface PipelineSpec {
  readonly stages: readonly StageSpec[];
  readonly guards: Readonly<Record<string, (view: PipelineView) => boolean>>;
  /** The result of a COMPLETED pipeline. */
  readonly result: (view: PipelineView) => unknown;
  /** Validates the pipeline's data after every merge (its zod schema); throws when it does not parse. */
  readonly checkData: (data: unknown) => unknown;
  readonly now: () => number;
}

/** Route targets that end the pipeline; no stage may be named so. */
export const ROUTE_ENDS = ['complete', 'escalate'] as const;
/** Guards every pipeline machine has; user guards may not reuse these names. */
export const BUILTIN_PIPELINE_GUARDS = ['pauseRequested', 'stageFailed', 'hasDeadline', 'deadlineReachedWhileRunning', 'deadlineAhead'] as const;

const MAX_TIMER_MS = 2_147_483_647;
const ID = 'pipeline';

function notProvided(name: string): never {
  throw new Error(`reins: actor "${name}" was not provided; host pipelines on a Supervisor`);
}

function viewOf(context: PipelineContext): PipelineView {
  return { input: context.input, data: context.data, visits: context.visits, last: context.last, results: context.results };
}

/** The operator-facing state of a pipeline: the stage it is in, `paused`, or its final state. */
export function pipelineStateName(value: unknown): string {
  if (typeof value === 'string') return value;
  const work = (value as { running?: { work?: unknown } } | null)?.running?.work;
  if (typeof work === 'string') return work;
  if (work && typeof work === 'object') {
    const [stage, sub] = Object.entries(work as Record<string, unknown>)[0] ?? [];
    if (stage === undefined) return 'running';
    return sub === 'paused' ? 'paused' : stage;
  }
  return 'running';
}

/** The children a stage runs this time, with their derived run ids. */
export function stageRunOf(context: PipelineContext, stage: StageSpec): StageRun {
  const visit = context.visits[stage.name] ?? 1;
  const planned = ChildPlan.array().parse(stage.plan(viewOf(context)));
  return {
    runId: context.runId,
    stage: stage.name,
    visit,
    agentId: stage.agentId,
    policy: stage.policy,
    concurrency: stage.concurrency,
    children: planned.map((p, index) => ({ ...p, index, childRunId: childRunId(context.runId, stage.name, index, visit) })),
  };
}

/**
 * Builds a pipeline machine: one state per stage, each invoking the stage's
 * children through the `runStage` actor (invoke id = the stage name) and
 * routing on their typed outcomes with named guards once the stage ends.
 *
 * Every stage is `running` (the invoke) then `routing` (a transient state
 * whose guards read the stored result), so that a restore re-attaches to the
 * same children and every branch is a guard on context. A pause requested
 * during a stage takes effect at its end (`<stage>.paused`); the children are
 * paused by the host meanwhile. KILL and the wall-clock deadline leave the
 * stage at once: its actor is stopped, which cancels the children.
 */
export function createPipelineMachine(spec: PipelineSpec) {
  const stages = new Map(spec.stages.map((s) => [s.name, s]));
  const first = spec.stages[0];
  if (!first) throw new Error('a pipeline needs at least one stage');
  const stagePath = (name: string) => `#${ID}.running.work.${name}`;
  const routeOf = (stage: string, route: number): RouteSpec => stages.get(stage)!.routes[route]!;
  const whereOf = (context: PipelineContext) => (context.paused ? 'paused' : context.phase);

  /** Fills the fields every outcome carries: the pipeline's run, its children's total spend, and what decided it. */
  const conclude = (context: PipelineContext, evidence: OutcomeEvidence, decided: { stage?: string | null; childRunId?: string | null }): TerminalOutcome =>
    ({
      ...evidence,
      runId: context.runId,
      agentId: context.agentId,
      turns: context.usage.turns,
      usage: context.usage,
      endedAt: spec.now(),
      ...(decided.stage ? { stage: decided.stage } : {}),
      ...(decided.childRunId ? { childRunId: decided.childRunId } : {}),
    }) as TerminalOutcome;

  const decidedByOf = (context: PipelineContext, route: RouteSpec): { stage: string | null; childRunId: string | null } => {
    const view = viewOf(context);
    const chosen = route.decidedBy ? route.decidedBy(view) : null;
    if (chosen) return { stage: chosen.stage, childRunId: chosen.childRunId };
    const last = context.last;
    return { stage: last?.stage ?? null, childRunId: last && last.children.length === 1 ? last.children[0]!.childRunId : null };
  };

  const builtIns = {
    pauseRequested: ({ context }: { context: PipelineContext }) => context.pauseRequest !== null,
    stageFailed: ({ context }: { context: PipelineContext }) => context.last?.status === 'failed',
    hasDeadline: ({ context }: { context: PipelineContext }) => context.deadlineAt !== null,
    // A paused pipeline does not time out while an operator holds it; RESUME re-arms the clock.
    deadlineReachedWhileRunning: ({ context }: { context: PipelineContext }) => context.deadlineAt !== null && spec.now() >= context.deadlineAt && context.paused === null,
    deadlineAhead: ({ context }: { context: PipelineContext }) => context.deadlineAt !== null && spec.now() < context.deadlineAt,
  };
  const userGuards: Record<string, (args: { context: PipelineContext }) => boolean> = Object.fromEntries(
    Object.entries(spec.guards).map(([name, fn]) => [name, ({ context }: { context: PipelineContext }) => fn(viewOf(context))]),
  );

  // A route's condition is one named guard, composites included ("qcScoreBelow80 && refineAttemptsLeft", "!anyShotPassed"):
  // the chart and the inspector show the condition as written.
  const composite: Record<string, (args: { context: PipelineContext }) => boolean> = {};
  const named = (name: string) => (name in userGuards ? userGuards[name]! : builtIns[name as keyof typeof builtIns]);
  const guardOf = (when: GuardExpr): string => {
    if (typeof when === 'string') return when;
    if ('not' in when) {
      const name = (when as { not: string }).not;
      composite[`!${name}`] ??= (args) => !named(name)(args);
      return `!${name}`;
    }
    const names = [...(when as readonly string[])];
    const label = names.join(' && ');
    composite[label] ??= (args) => names.every((n) => named(n)(args));
    return label;
  };

  const stageStates = Object.fromEntries(
    spec.stages.map((stage) => [
      stage.name,
      {
        initial: 'running',
        states: {
          running: {
            invoke: {
              id: stage.name,
              src: 'runStage',
              input: ({ context }: { context: PipelineContext }) => stageRunOf(context, stage),
              onDone: { target: 'routing', actions: 'storeStageResult' },
              onError: { target: `#${ID}.internalError`, actions: { type: 'recordStageError', params: { stage: stage.name } } },
            },
          },
          routing: {
            always: [
              { guard: 'pauseRequested', target: 'paused', actions: 'enterRequestedPause' },
              { guard: 'stageFailed', target: `#${ID}.stageFailed`, actions: 'recordStageFailure' },
              ...stage.routes.map((route, index) => {
                const guard = route.when === null ? {} : { guard: guardOf(route.when) };
                if (route.to === 'complete') return { ...guard, target: `#${ID}.completed`, actions: { type: 'recordCompleted', params: { stage: stage.name, route: index } } };
                if (route.to === 'escalate') return { ...guard, target: `#${ID}.escalated`, actions: { type: 'recordEscalated', params: { stage: stage.name, route: index } } };
                return { ...guard, target: stagePath(route.to), reenter: true, actions: { type: 'enterStage', params: { stage: route.to } } };
              }),
            ],
          },
          paused: {
            on: {
              // The clock did not fire while paused: re-arm it (a deadline passed meanwhile ends the run at once).
              RESUME: { target: 'routing', actions: ['clearPause', 'rearmTimers'] },
              PAUSE: {},
            },
          },
        },
      },
    ]),
  );

  return setup({
    types: {
      context: {} as PipelineContext,
      input: {} as PipelineInput,
      events: {} as PipelineEvent,
      output: {} as TerminalOutcome,
    },
    actors: {
      runStage: fromPromise<StageResult, StageRun>(async () => notProvided('runStage')),
    },
    delays: {
      untilDeadline: ({ context }) => Math.min(MAX_TIMER_MS, Math.max(0, (context.deadlineAt ?? Infinity) - spec.now())),
    },
    guards: { ...userGuards, ...composite, ...builtIns },
    actions: {
      rearmTimers: raise({ type: 'reins.rearm' }),
      enterStage: assign(({ context }, params: { stage: string }) => ({
        phase: params.stage,
        step: context.step + 1,
        visits: { ...context.visits, [params.stage]: (context.visits[params.stage] ?? 0) + 1 },
      })),
      storeStageResult: assign(({ context, event }) => {
        const result = (event as unknown as DoneActorEvent<StageResult>).output;
        const usage = combineUsage([context.usage, ...result.children.map((c) => c.outcome.usage)]);
        const stored = { ...context, usage, last: result, results: { ...context.results, [result.stage]: result } };
        const merge = stages.get(result.stage)?.merge;
        const data = merge ? spec.checkData(merge(viewOf(stored), result)) : context.data;
        return { usage, last: result, results: stored.results, data: data as PipelineContext['data'] };
      }),
      requestPause: assign({ pauseRequest: ({ event }) => (event.type === 'PAUSE' ? { by: event.by, why: event.why } : null) }),
      cancelPauseRequest: assign({ pauseRequest: null }),
      enterRequestedPause: assign({
        pauseRequest: null,
        paused: ({ context }) => (context.pauseRequest ? { ...context.pauseRequest, at: spec.now() } : null),
      }),
      clearPause: assign({ paused: null }),
      recordStageFailure: assign({
        outcome: ({ context }) => {
          const last = context.last!;
          const child = last.decidedBy && last.children.find((c) => c.childRunId === last.decidedBy!.childRunId);
          if (!child) {
            return conclude(context, { reason: 'INTERNAL_ERROR', where: last.stage, error: { name: 'StageFailed', message: last.why ?? `stage ${last.stage} failed` } }, { stage: last.stage });
          }
          // The pipeline ends for the reason its deciding child ended, with that child's evidence, naming the stage and the child.
          const { runId: _r, agentId: _a, turns: _t, usage: _u, endedAt: _e, stage: _s, childRunId: _c, ...evidence } = child.outcome;
          return conclude(context, evidence as OutcomeEvidence, { stage: last.stage, childRunId: child.childRunId });
        },
      }),
      recordCompleted: assign({
        outcome: ({ context }, params: { stage: string; route: number }) =>
          conclude(context, { reason: 'COMPLETED', result: spec.result(viewOf(context)) as never }, decidedByOf(context, routeOf(params.stage, params.route))),
      }),
      recordEscalated: assign({
        outcome: ({ context }, params: { stage: string; route: number }) => {
          const route = routeOf(params.stage, params.route);
          const why = route.why ? route.why(viewOf(context)) : `stage ${params.stage} routed to a human`;
          return conclude(context, { reason: 'ESCALATED', by: 'pipeline', why, pending: null }, decidedByOf(context, route));
        },
      }),
      recordKill: assign({
        outcome: ({ context, event }) =>
          conclude(
            context,
            { reason: 'USER_KILLED', by: event.type === 'KILL' ? event.by : 'unknown', why: event.type === 'KILL' ? event.why : '', state: whereOf(context), tool: null },
            { stage: context.phase },
          ),
      }),
      recordTimeout: assign({
        outcome: ({ context }) =>
          conclude(
            context,
            { reason: 'TIMEOUT', deadlineMs: (context.deadlineAt ?? context.startedAt) - context.startedAt, elapsedMs: Math.max(0, spec.now() - context.startedAt), state: whereOf(context), tool: null },
            { stage: context.phase },
          ),
      }),
      recordStageError: assign({
        outcome: ({ context, event }, params: { stage: string }) =>
          conclude(context, { reason: 'INTERNAL_ERROR', where: params.stage, error: toErrorInfo((event as unknown as ErrorActorEvent).error) }, { stage: params.stage }),
      }),
    },
  }).createMachine({
    id: ID,
    context: ({ input }) => ({
      runId: input.runId,
      agentId: input.agentId,
      goal: input.goal,
      input: input.input,
      data: input.data,
      limits: input.limits,
      startedAt: input.startedAt,
      deadlineAt: input.limits.maxWallClockMs === undefined ? null : input.startedAt + input.limits.maxWallClockMs,
      phase: first.name,
      step: 0,
      usage: ZERO_USAGE,
      visits: {},
      results: {},
      last: null,
      pauseRequest: null,
      paused: null,
      outcome: null,
    }),
    output: ({ context }) => context.outcome!,
    initial: 'running',
    states: {
      running: {
        // Work and the wall clock are separate regions so that the clock can be re-armed after a restore without re-entering a stage.
        type: 'parallel',
        on: {
          KILL: { target: 'userKilled', actions: 'recordKill' },
        },
        states: {
          work: {
            initial: 'start',
            on: {
              PAUSE: { actions: 'requestPause' },
              RESUME: { actions: 'cancelPauseRequest' },
            },
            states: {
              start: { always: { target: first.name, actions: { type: 'enterStage', params: { stage: first.name } } } },
              // Stages are built from the declaration; their transitions are checked by definePipeline.
              ...(stageStates as Record<string, object>),
            },
          },
          clock: {
            initial: 'start',
            states: {
              start: {
                always: [{ guard: 'hasDeadline', target: 'ticking' }, { target: 'unbounded' }],
              },
              ticking: {
                after: {
                  untilDeadline: [
                    { guard: 'deadlineReachedWhileRunning', target: `#${ID}.timedOut`, actions: 'recordTimeout' },
                    { guard: 'deadlineAhead', target: 'ticking', reenter: true },
                  ],
                },
                on: {
                  'reins.rearm': { target: 'ticking', reenter: true },
                },
              },
              unbounded: {},
            },
          },
        },
      },
      completed: { type: 'final' },
      escalated: { type: 'final' },
      stageFailed: { type: 'final' },
      timedOut: { type: 'final' },
      userKilled: { type: 'final' },
      internalError: { type: 'final' },
    },
  });
}

/** The machine type every pipeline shares. */
export type PipelineMachine = ReturnType<typeof createPipelineMachine>;

