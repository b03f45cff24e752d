import { z } from 'zod';
import { hashValue } from '../guards/action.js';
import { Limits } from '../guards/budget.js';
import { Usage } from '../guards/usage.js';
import { Actor } from './agent-context.js';
import { TerminalOutcome } from './outcome.js';

/**
 * How a fan-out decides: `all` fails at the first failed child and cancels
 * its siblings; `settled` waits for every child and records each result;
 * `{ quorum: k }` succeeds once k children completed (cancelling the rest)
 * and fails as soon as k can no longer be reached.
 */
export const FanOutPolicy = z.union([z.literal('all'), z.literal('settled'), z.strictObject({ quorum: z.number().int().positive() })]);
export type FanOutPolicy = z.infer<typeof FanOutPolicy>;

/** A readable form of a policy, for evidence and logs. */
export function policyName(policy: FanOutPolicy): string {
  return typeof policy === 'string' ? policy : `quorum(${policy.quorum})`;
}

/** Names one child run of a stage: which stage, which item (index and key), which run. */
export const ChildRef = z.object({
  stage: z.string(),
  index: z.number().int().nonnegative(),
  key: z.string(),
  childRunId: z.string(),
});
export type ChildRef = z.infer<typeof ChildRef>;

/** One child of a stage and how it ended: attribution (stage, index, key, run id) and its own TerminalOutcome. */
export const ChildResult = ChildRef.extend({
  agentId: z.string(),
  /** Which time the stage ran (1 = first). */
  visit: z.number().int().positive(),
  outcome: TerminalOutcome,
  /** It ended because the stage or the pipeline cancelled it (a sibling failed, a quorum was reached, the parent was killed). */
  cancelled: z.boolean(),
});
export type ChildResult = z.infer<typeof ChildResult>;

/** What one run of a stage came to: every child's result, the children never started, and what decided a failure. */
export const StageResult = z.object({
  stage: z.string(),
  visit: z.number().int().positive(),
  policy: FanOutPolicy,
  /** `failed`: the policy failed (all: a child failed; quorum: k became unreachable). `settled` stages always succeed. */
  status: z.enum(['succeeded', 'failed']),
  /** In item order; only children that were started. */
  children: z.array(ChildResult),
  /** Items never started because the stage was decided first. */
  skipped: z.array(z.object({ index: z.number().int().nonnegative(), key: z.string() })),
  /** The child whose outcome decided a failed stage; null when it succeeded (or when no child could decide, e.g. an unreachable quorum). */
  decidedBy: ChildRef.nullable(),
  /** Why the stage failed, readable; null when it succeeded. */
  why: z.string().nullable(),
});
export type StageResult = z.infer<typeof StageResult>;

/** One child a stage asks for, before it has a run id. */
export const ChildPlan = z.object({
  key: z.string(),
  input: z.json(),
  limits: Limits.optional(),
});
export type ChildPlan = z.infer<typeof ChildPlan>;

/** What a stage actor is invoked with: everything needed to start or re-attach its children. */
export const StageRun = z.object({
  runId: z.string(),
  stage: z.string(),
  visit: z.number().int().positive(),
  agentId: z.string(),
  policy: FanOutPolicy,
  concurrency: z.number().int().positive(),
  children: z.array(ChildPlan.extend({ index: z.number().int().nonnegative(), childRunId: z.string() })),
});
export type StageRun = z.infer<typeof StageRun>;

/**
 * Everything a pipeline run knows, as JSON. The fields an operator reads on
 * any run (runId, agentId, goal, limits, usage, step, paused, pauseRequest,
 * outcome, startedAt, deadlineAt) have the same names and meaning as an
 * agent's, so listings read pipelines and agents alike.
 */
export const PipelineContext = z.object({
  runId: z.string(),
  /** The pipeline's id (runs are listed by it, as agents' runs are by theirs). */
  agentId: z.string(),
  goal: z.string(),
  input: z.json(),
  /** The pipeline's own state, reduced from stage results by each stage's `merge` (validated by the pipeline's schema). */
  data: z.json(),
  limits: Limits,
  startedAt: z.number(),
  deadlineAt: z.number().nullable(),
  /** The stage the run is in (or its last stable state). */
  phase: z.string(),
  /** Stages started so far (every visit counts). */
  step: z.number().int().nonnegative(),
  /** The children's spend, added as each stage ends. */
  usage: Usage,
  /** How many times each stage has started. */
  visits: z.record(z.string(), z.number().int().positive()),
  /** The latest result of each stage that ran. */
  results: z.record(z.string(), StageResult),
  /** The result of the stage that just ended: what the routing guards read. */
  last: StageResult.nullable(),
  pauseRequest: Actor.nullable(),
  paused: Actor.extend({ at: z.number() }).nullable(),
  outcome: TerminalOutcome.nullable(),
});
export type PipelineContext = z.infer<typeof PipelineContext>;

/** What starts a pipeline run. */
export const PipelineInput = z.object({
  runId: z.string().min(1),
  agentId: z.string().min(1),
  goal: z.string(),
  input: z.json(),
  data: z.json(),
  limits: Limits,
  startedAt: z.number(),
});
export type PipelineInput = z.infer<typeof PipelineInput>;

/** Operator events a pipeline takes (approvals go to the child run that waits). */
export type PipelineEvent =
  | { type: 'PAUSE'; by: string; why: string }
  | { type: 'RESUME'; by: string }
  | { type: 'KILL'; by: string; why: string }
  | { type: 'reins.rearm' };

const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;

/**
 * The run id of a stage's child: `<parent>.<stage>.<index>`, with `.<visit>`
 * from the stage's second run on. Deterministic, so that a restored parent
 * finds its children again; within the run-id alphabet and 128 characters
 * (a long parent id is shortened to a prefix and its hash).
 */
export function childRunId(parentRunId: string, stage: string, index: number, visit = 1): string {
  const suffix = `.${stage}.${index}${visit > 1 ? `.${visit}` : ''}`;
  const id = `${parentRunId}${suffix}`;
  if (id.length <= 128 && RUN_ID.test(id) && !id.includes('..')) return id;
  const hash = hashValue(parentRunId).slice(0, 12);
  const room = Math.max(1, 128 - suffix.length - hash.length - 1);
  const prefix = parentRunId.slice(0, room).replace(/[^A-Za-z0-9_:-]+$/, '').replace(/\.{2,}/g, '.') || 'run';
  return `${prefix}-${hash}${suffix}`;
}
