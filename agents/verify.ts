import { z } from 'zod';
import { costOf, type PriceTable } from '../guards/cost.js';
import { matchSchema } from '../guards/validate.js';
import type { VerifyInput } from '../machines/agent-machine.js';
import { ModelSpend, VerifyResult, type Message } from '../machines/model-types.js';
import type { RunEnvironment } from './actors.js';
import { transcriptView } from './compaction.js';
import { ReinsError } from './errors.js';
import { withTimeout } from './timeout.js';


/**
 * A check's verdict on an answer: `ok`, or not and why (the reason goes back
 * to the model). `by` names the check in the outcome (default "verify");
 * `spend` is what a model-backed check spent (it counts against the run's budgets).
 */
export const Verdict = z
  .object({
    ok: z.boolean(),
    reason: z.string().optional(),
    by: z.string().min(1).optional(),
    spend: ModelSpend.nullable().optional(),
  })
  .refine((v) => v.ok || (v.reason !== undefined && v.reason.trim().length > 0), { message: 'a rejecting verdict must say why (reason)' });
export type Verdict = z.input<typeof Verdict>;

/** A tool result the run has seen, as the verifier reads it. */
export interface SeenToolResult {
  readonly callId: string;
  readonly tool: string;
  readonly content: string;
  readonly isError: boolean;
}

/** What a verifier sees of the run besides the answer: the goal, the transcript and tool results so far, its spend, an abort signal. */
export interface VerifyRun {
  readonly runId: string;
  readonly goal: string;
  /** Which answer this is (1 = the first). */
  readonly attempt: number;
  /** The transcript as the model saw it (compacted where it was), with the messages of the turn that answered. */
  readonly messages: readonly Message[];
  readonly toolResults: readonly SeenToolResult[];
  /** Tokens model-backed checks have spent in this run so far (a model verifier's own budget is checked against this). */
  readonly verifyTokens: number;
  readonly signal: AbortSignal;
}

/** Checks an answer before the run is COMPLETED. */
export type Verify<R = unknown> = (result: R, run: VerifyRun) => Verdict | Promise<Verdict>;

/** An accepting verdict. */
export function accept(by?: string): Verdict {
  return by === undefined ? { ok: true } : { ok: true, by };
}

/** A rejecting verdict: the reason goes back to the model, and into the evidence. */
export function reject(reason: string, by?: string): Verdict {
  return by === undefined ? { ok: false, reason } : { ok: false, reason, by };
}

/** A verifier that did not answer within its time: the answer is neither accepted nor rejected, and the run ends INTERNAL_ERROR. */
export class VerifyTimeoutError extends ReinsError {
  constructor(timeoutMs: number) {
    super('verify-timeout', `the answer's verifier did not give a verdict within ${timeoutMs} ms`);
  }
}

/** How an agent's answers are checked: the result schema first, then its `verify`. */
export interface AnswerCheck {
  readonly schema: z.ZodType | null;
  readonly verify: Verify | null;
  readonly timeoutMs: number;
}

/** The check's name when a verdict does not give one. */
const CUSTOM = 'verify';
const SCHEMA = 'schema';

/**
 * Checks one answer: journaled like a judge call, so that a check re-invoked
 * after a crash returns its recorded verdict (a model-backed verifier is not
 * billed twice, and the answer's model call is never re-asked). A throwing
 * verifier, or one past `timeoutMs`, propagates: the run ends INTERNAL_ERROR.
 */
export async function checkAnswer(check: AnswerCheck, env: RunEnvironment, prices: PriceTable, agentId: string, input: VerifyInput, signal: AbortSignal): Promise<VerifyResult> {
  const key = `${input.runId}:${input.step}:verify-${input.attempt}`;
  const recorded = await env.journal?.begin(key, input.step, signal, 'billed');
  if (recorded?.kind === 'done') return recorded.result as VerifyResult;
  const started = env.now();
  const result = await decide(check, env, input, signal);
  await env.journal?.finish(key, input.step, result);
  const spend = result.spend ?? null;
  const latencyMs = env.now() - started;
  const fields = { step: input.step, attempt: input.attempt, by: result.by, accepted: result.accepted, ...(result.accepted ? {} : { why: result.reason }), latencyMs };
  env.logger.info(
    { runId: input.runId, agent: agentId, ...fields, ...(spend ? { model: spend.modelId, inputTokens: spend.usage.inputTokens, outputTokens: spend.usage.outputTokens } : {}) },
    'answer check',
  );
  env.trace?.({
    at: env.now(),
    kind: 'verify',
    ...fields,
    ...(spend ? { model: spend.modelId, usage: spend.usage, costUsd: costOf(spend.modelId, spend.usage, prices) } : {}),
  });
  return result;
}

async function decide(check: AnswerCheck, env: RunEnvironment, input: VerifyInput, signal: AbortSignal): Promise<VerifyResult> {
  let answer: unknown = input.answer;
  if (check.schema) {
    const matched = matchSchema(check.schema, input.answer, 'The answer does not match the result schema');
    if (!matched.ok) return { accepted: false, reason: matched.hint, by: SCHEMA, spend: null };
    answer = matched.value;
  }
  if (!check.verify) return { accepted: true, reason: 'the answer matches the result schema', by: SCHEMA, spend: null };
  const verify = check.verify;
  const messages = [...transcriptView(await env.transcripts.read(input.runId)), ...input.inbox];
  const verdict = Verdict.parse(
    await withTimeout(
      async (s) => verify(answer, { runId: input.runId, goal: input.goal, attempt: input.attempt, messages, toolResults: toolResultsOf(messages), verifyTokens: input.verifyTokens, signal: s }),
      check.timeoutMs,
      signal,
      () => new VerifyTimeoutError(check.timeoutMs),
    ),
  );
  return VerifyResult.parse({ accepted: verdict.ok, reason: verdict.reason ?? 'accepted', by: verdict.by ?? CUSTOM, spend: verdict.spend ?? null });
}

function toolResultsOf(messages: readonly Message[]): SeenToolResult[] {
  return messages.flatMap((m) => (m.role === 'tool' ? [{ callId: m.callId, tool: m.tool, content: m.content, isError: m.isError }] : []));
}

/** The answer as a string for a prompt or a reason; JSON for anything but a string. */
export function answerText(answer: unknown): string {
  return typeof answer === 'string' ? answer : JSON.stringify(answer) ?? 'null';
}
