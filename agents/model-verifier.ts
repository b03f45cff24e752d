import { z } from 'zod';
import type { ModelSpend } from '../machines/model-types.js';
import type { Model } from './model.js';
import { askForVerdict, clip, renderMessage, verdictIn } from './model-judge.js';
import { accept, answerText, reject, type Verdict, type Verify, type VerifyRun } from './verify.js';

/** The verdict a model verifier must give, through its one tool. */
export const AnswerVerdict = z.object({
  ok: z.boolean().describe('true only when the answer fully does what the goal asks, on the evidence in the transcript'),
  reason: z.string().min(1).max(600).describe('What is missing or wrong (the agent reads this to fix it), or why the answer is complete'),
});
export type AnswerVerdict = z.infer<typeof AnswerVerdict>;

/** The tool the verifier answers through. */
export const ANSWER_VERDICT_TOOL = 'report_verdict';

const HEURISTIC = 'heuristic';

function isEmpty(value: unknown): boolean {
  if (value === null || value === undefined) return true;
  if (typeof value === 'string') return value.trim().length === 0;
  if (Array.isArray(value)) return value.length === 0;
  if (typeof value === 'object') return Object.keys(value).length === 0;
  return false;
}

/**
 * Model-free answer check: rejects an empty answer, and an answer given while
 * the latest call of some tool had failed (an answer on top of a failure);
 * accepts anything else. The fallback of `modelVerifier`.
 */
export const heuristicVerifier: Verify = (result: unknown, run: VerifyRun): Verdict => {
  if (isEmpty(result)) return reject('the answer is empty', HEURISTIC);
  const latest = new Map<string, { content: string; isError: boolean }>();
  for (const r of run.toolResults) latest.set(r.tool, r);
  const failed = [...latest.entries()].filter(([, r]) => r.isError);
  if (failed.length > 0) {
    return reject(`the answer came after failed calls with no later success: ${failed.map(([tool, r]) => `${tool} (${clip(r.content, 200)})`).join('; ')}`, HEURISTIC);
  }
  return accept(HEURISTIC);
};

export interface ModelVerifierOptions {
  /** The checking model: a small one does, through the same adapters as the agent (e.g. `fromAiSdk(openai('gpt-4o-mini'))`). */
  readonly model: Model;
  /** What a complete answer must satisfy, beyond the goal (e.g. "every file in the plan is written"). */
  readonly criteria?: string;
  /** Tokens (input + output) the verifier may spend in one run; past that, the fallback decides. Default 20,000. */
  readonly maxTokensPerRun?: number;
  /** Output limit of one verdict. Default 400. */
  readonly maxOutputTokens?: number;
  /** How many of the latest messages the verifier reads (each cut to 1,000 characters). Default 30. */
  readonly recentMessages?: number;
  /** A verdict not given within this is decided by the fallback. Default 30 s. */
  readonly timeoutMs?: number;
  /** Decides when the model cannot (budget spent, provider failure, timeout, no valid verdict). Default: `heuristicVerifier`. */
  readonly fallback?: Verify;
}

const INSTRUCTIONS =
  'You check whether an AI agent really finished its task before it is marked done. You see the goal, the criteria, ' +
  'the agent\'s final answer and the latest messages of its work, with its tool results. Accept only when the answer does ' +
  'everything the goal asks and the transcript supports it. Reject an answer that does part of the job, claims work the ' +
  'tool results do not show, or rests on a failed call; say precisely what is missing so the agent can fix it. ' +
  `Answer only by calling ${ANSWER_VERDICT_TOOL}.`;

function prompt(result: unknown, run: VerifyRun, criteria: string | undefined, recentMessages: number): string {
  const messages = run.messages.slice(-recentMessages).map(renderMessage);
  return [
    `Goal: ${run.goal}`,
    ...(criteria ? [`Criteria: ${criteria}`] : []),
    '',
    `Final answer (attempt ${run.attempt}): ${clip(answerText(result), 4_000)}`,
    ...(messages.length > 0 ? ['', 'Latest messages:', ...messages] : []),
  ].join('\n');
}

/**
 * A model-backed answer check: "does this answer really do what the goal
 * asks?", answered as a zod-validated verdict through one tool. It has its
 * own token budget per run and falls back (the heuristic verifier by default)
 * when the budget is spent, the provider fails or times out, or the reply is
 * no valid verdict (its tokens count all the same). Its spend is the run's.
 */
export function modelVerifier(options: ModelVerifierOptions): Verify {
  const budget = options.maxTokensPerRun ?? 20_000;
  const maxOutputTokens = options.maxOutputTokens ?? 400;
  const recentMessages = options.recentMessages ?? 30;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const fallbackVerify = options.fallback ?? heuristicVerifier;
  const name = `model:${options.model.id}`;

  return async (result: unknown, run: VerifyRun): Promise<Verdict> => {
    const fallback = async (why: string, spend: ModelSpend | null): Promise<Verdict> => {
      const verdict = await fallbackVerify(result, run);
      return { ...verdict, by: `${verdict.by ?? 'fallback'} (${name} ${why})`, spend };
    };
    if (run.verifyTokens >= budget) return fallback(`spent its budget: ${run.verifyTokens} of ${budget} tokens`, null);
    const asked = await askForVerdict({
      model: options.model,
      runId: run.runId,
      idempotencyKey: `${run.runId}:verify:${run.attempt}`,
      system: INSTRUCTIONS,
      prompt: prompt(result, run, options.criteria, recentMessages),
      tool: { name: ANSWER_VERDICT_TOOL, description: 'Report whether the answer completes the task, and why.', schema: AnswerVerdict },
      maxOutputTokens,
      timeoutMs,
      signal: run.signal,
    });
    if ('failed' in asked) return fallback(`failed: ${asked.failed}`, null);
    const spend: ModelSpend = { modelId: asked.response.modelId, usage: asked.response.usage };
    const verdict = verdictIn(asked.response, ANSWER_VERDICT_TOOL, AnswerVerdict);
    if (!verdict) return fallback(`gave no valid verdict (it replied ${asked.response.type})`, spend);
    return { ok: verdict.ok, reason: verdict.reason, by: name, spend };
  };
}
