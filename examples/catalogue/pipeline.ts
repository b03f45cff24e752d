/**
 * The catalogue pipeline: plan the shots, render them in parallel, check
 * each render, send the ones below 80 back to a refiner (at most three
 * rounds), publish only the shots that passed, and hand whatever is left to
 * a human. Each agent's answer is checked before the pipeline routes on it:
 * a checker's must be a QcVerdict, a publisher's must match its publish
 * receipt; a child whose answers keep failing ends RESULT_REJECTED, and a
 * stage with policy 'all' stops the pipeline on it like on any outcome.
 */
import { z } from 'zod';
import { definePipeline, type ChildRef, type StageResult, type TerminalOutcome } from '../../index.js';
import { checker, generator, planner, publisher, refiner, type QcVerdict } from './studio.js';

/** The bar a render must clear to be published. */
export const PASSING_SCORE = 80;
/** Refine rounds before a shot goes to a human. */
export const MAX_REFINES = 3;

const Shot = z.object({
  prompt: z.string(),
  status: z.enum(['planned', 'rendered', 'below', 'passed', 'failed']),
  image: z.string().nullable(),
  version: z.number().int().nonnegative(),
  score: z.number().nullable(),
  notes: z.string().nullable(),
  /** The child run that last checked it, or that failed it: what a human looks at first. */
  decidedBy: z.object({ stage: z.string(), index: z.number(), key: z.string(), childRunId: z.string() }).nullable(),
  failure: z.string().nullable(),
});
const Catalogue = z.object({
  product: z.string(),
  shots: z.record(z.string(), Shot),
  published: z.object({ url: z.string(), shots: z.array(z.string()) }).nullable(),
});
type Catalogue = z.infer<typeof Catalogue>;

export const Brief = z.object({ product: z.string(), shots: z.array(z.string()).min(1) });
export type Brief = z.infer<typeof Brief>;

/** What a child answered, when it completed. */
function answer<T>(outcome: TerminalOutcome): T | null {
  return outcome.reason === 'COMPLETED' ? (outcome.result as T) : null;
}

/** A readable reason for a child that did not complete: "TOOL_FAILURE: GPU quota exceeded …". */
function failureOf(outcome: TerminalOutcome): string {
  return outcome.reason === 'TOOL_FAILURE' ? `${outcome.reason}: ${outcome.message}` : outcome.reason;
}

function withShot(data: Catalogue, id: string, patch: Partial<Catalogue['shots'][string]>): Catalogue {
  return { ...data, shots: { ...data.shots, [id]: { ...data.shots[id]!, ...patch } } };
}

/** Folds a render or retouch stage into the shots: a new version to check, or a shot that could not be rendered. */
function mergeRenders(data: Catalogue, result: StageResult): Catalogue {
  let next = data;
  for (const child of result.children) {
    const rendered = answer<{ image: string; version: number }>(child.outcome);
    const { childRunId, index, key, stage } = child;
    next = rendered
      ? withShot(next, key, { status: 'rendered', image: rendered.image, version: rendered.version, score: null })
      : withShot(next, key, { status: 'failed', failure: failureOf(child.outcome), decidedBy: { stage, index, key, childRunId } });
  }
  return next;
}

const below = (data: Catalogue) => Object.entries(data.shots).filter(([, s]) => s.status === 'below');
const failed = (data: Catalogue) => Object.entries(data.shots).filter(([, s]) => s.status === 'failed');

/** Why a human must take over: the shots still below the bar, and those that could not be rendered. */
function leftBehind(data: Catalogue): string {
  const parts = [
    ...below(data).map(([id, s]) => `${id} still scores ${s.score} after ${MAX_REFINES} refine rounds (${s.notes})`),
    ...failed(data).map(([id, s]) => `${id} was not rendered (${s.failure})`),
  ];
  return `${parts.join('; ')}; a human must finish ${parts.length === 1 ? 'it' : 'them'}`;
}

/** The child run an operator should open first: the last check of the first shot left behind. */
function firstLeftBehind(data: Catalogue): ChildRef | null {
  return [...below(data), ...failed(data)][0]?.[1].decidedBy ?? null;
}

export const catalogue = definePipeline({
  id: 'catalogue',
  input: Brief,
  goal: (brief) => `Catalogue photos of ${brief.product}: ${brief.shots.join(', ')}`,
  data: {
    schema: Catalogue,
    initial: (brief) => ({ product: brief.product, shots: {}, published: null }),
  },
  limits: { maxWallClockMs: 120_000 },
  stages: {
    plan: {
      agent: planner,
      input: ({ input }) => input,
      merge: (data, result) => {
        const plan = answer<{ shots: Array<{ id: string; prompt: string }> }>(result.children[0]!.outcome);
        // The merge runs before a failed stage ends the pipeline: a planner that did not answer leaves the data as it was.
        if (!plan) return data;
        const shots = Object.fromEntries(
          plan.shots.map((s) => [s.id, { prompt: s.prompt, status: 'planned' as const, image: null, version: 0, score: null, notes: null, decidedBy: null, failure: null }]),
        );
        return { ...data, shots };
      },
      next: 'generate',
    },
    generate: {
      agent: generator,
      // One render per shot; a failed render is recorded for that shot and the others go on.
      children: ({ data }) => Object.entries(data.shots).map(([id, s]) => ({ key: id, input: { shot: id, prompt: s.prompt } })),
      policy: 'settled',
      concurrency: 3,
      merge: mergeRenders,
      next: 'qc',
    },
    qc: {
      agent: checker,
      children: ({ data }) =>
        Object.entries(data.shots)
          .filter(([, s]) => s.status === 'rendered')
          .map(([id, s]) => ({ key: id, input: { shot: id, image: s.image, version: s.version } })),
      // A checker that cannot score is a broken stage: the pipeline stops and names it.
      policy: 'all',
      concurrency: 3,
      merge: (data, result) => {
        let next = data;
        for (const child of result.children) {
          // The checker's answers are checked against QcVerdict before it completes: a COMPLETED child carries a valid score.
          const verdict = answer<QcVerdict>(child.outcome);
          // A checker that could not score fails the stage (policy all); its shot is left as it was.
          if (!verdict) continue;
          const { childRunId, index, key, stage } = child;
          next = withShot(next, key, {
            status: verdict.score >= PASSING_SCORE ? 'passed' : 'below',
            score: verdict.score,
            notes: verdict.notes,
            decidedBy: { stage, index, key, childRunId },
          });
        }
        return next;
      },
      next: [
        { when: ['qcScoreBelow80', 'refineAttemptsLeft'], to: 'refine' },
        { when: { not: 'anyShotPassed' }, to: 'escalate', why: ({ data }) => `no shot passed: ${leftBehind(data)}`, decidedBy: ({ data }) => firstLeftBehind(data) },
        { to: 'publish' },
      ],
    },
    refine: {
      agent: refiner,
      children: ({ data }) => below(data).map(([id, s]) => ({ key: id, input: { shot: id, image: s.image, version: s.version, notes: s.notes } })),
      policy: 'settled',
      concurrency: 3,
      merge: mergeRenders,
      next: 'qc',
    },
    publish: {
      agent: publisher,
      // Only shots that passed the check are ever published.
      input: ({ data }) => ({
        product: data.product,
        shots: Object.entries(data.shots)
          .filter(([, s]) => s.status === 'passed')
          .map(([id, s]) => ({ shot: id, image: s.image, score: s.score })),
      }),
      merge: (data, result) => {
        const done = answer<{ url: string; published: string[] }>(result.children[0]!.outcome);
        if (!done) return data;
        return { ...data, published: { url: done.url, shots: done.published } };
      },
      next: [
        { when: 'shotsLeftBehind', to: 'escalate', why: ({ data }) => `published ${data.published?.shots.join(', ')}; ${leftBehind(data)}`, decidedBy: ({ data }) => firstLeftBehind(data) },
        { to: 'complete' },
      ],
    },
  },
  guards: {
    // The stage's typed outcomes are the input of the transition: a checker that completed with a score below 80.
    qcScoreBelow80: ({ last }) =>
      last?.stage === 'qc' && last.children.some((c) => (answer<{ score: number }>(c.outcome)?.score ?? PASSING_SCORE) < PASSING_SCORE),
    refineAttemptsLeft: ({ visits }) => (visits.refine ?? 0) < MAX_REFINES,
    anyShotPassed: ({ data }) => Object.values(data.shots).some((s) => s.status === 'passed'),
    shotsLeftBehind: ({ data }) => below(data).length + failed(data).length > 0,
  },
  result: ({ data }) => ({ published: data.published, shots: Object.fromEntries(Object.entries(data.shots).map(([id, s]) => [id, { score: s.score, image: s.image }])) }),
});
