import { z } from 'zod';
import type { ActionRecord } from '../guards/action.js';
import { heuristicJudge, type ProgressJudge, type ProgressJudgeInput } from '../guards/progress.js';
import type { JudgeResult, Message, ModelSpend } from '../machines/model-types.js';
import { ModelCallError, ModelTimeoutError } from './errors.js';
import type { Model, ModelResponse } from './model.js';
import { withTimeout } from './timeout.js';

/** The verdict a model judge must give, through its one tool. */
export const JudgeVerdict = z.object({
  progressing: z.boolean().describe('true when the agent is meaningfully closer to the goal than at the previous check'),
  why: z.string().min(1).max(600).describe('One or two sentences an on-call engineer can read: what changed, or what did not'),
});
export type JudgeVerdict = z.infer<typeof JudgeVerdict>;

/** The tool the judge answers through. */
export const VERDICT_TOOL = 'report_progress';

export interface ModelJudgeOptions {
  /** The judging model: a small, cheap one does (e.g. `fromAiSdk(openai('gpt-4o-mini'))`). */
  readonly model: Model;
  /** Tokens (input + output) the judge may spend in one run; past that, the heuristic judge decides. Default 20,000. */
  readonly maxTokensPerRun?: number;
  /** Output limit of one verdict. Default 300. */
  readonly maxOutputTokens?: number;
  /** How many of the latest messages the judge reads (each cut to 1,000 characters). Default 30. */
  readonly recentMessages?: number;
  /** A verdict not given within this is a failed check, decided by the heuristic judge. Default 30 s. */
  readonly timeoutMs?: number;
}

/** What the runtime passes a judge besides the guard's input (see JudgeCall in agents/actors.ts); absent when called by hand. */
type JudgeExtras = {
  readonly runId?: string;
  readonly messages?: readonly Message[];
  readonly judgeTokens?: number;
  readonly signal?: AbortSignal;
};

const INSTRUCTIONS =
  'You check whether an AI agent is making progress on its goal. You see the goal, what the agent did before the previous check, ' +
  'what it did since, and the latest messages. Decide whether it is meaningfully closer to the goal now than at the previous check. ' +
  'New information, a completed sub-step or a narrowed search is progress. Repeating itself, circling between the same actions, ' +
  `failing the same way, or drifting away from the goal is not. Answer only by calling ${VERDICT_TOOL}.`;

/** Cuts text to `max` characters for a helper model's prompt. */
export function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

function describeActions(actions: readonly ActionRecord[], seen: Set<string>): string[] {
  return actions.map((a) => {
    const result = !a.ok ? 'failed' : seen.has(a.resultHash) ? 'same result as before' : 'new result';
    seen.add(a.resultHash);
    return `- ${a.label ?? a.tool} → ${result}`;
  });
}

/** One transcript message as a line of a helper model's prompt (judge, verifier). */
export function renderMessage(m: Message): string {
  switch (m.role) {
    case 'user':
      return `[user] ${clip(m.content, 1_000)}`;
    case 'assistant':
      return `[agent] ${clip([m.content, ...m.toolCalls.map((c) => `${c.name}(${c.arguments})`)].filter(Boolean).join(' '), 1_000)}`;
    case 'tool':
      return `[${m.tool} ${m.isError ? 'error' : 'result'}] ${clip(m.content, 1_000)}`;
  }
}

/** The question put to the judge. */
function prompt(input: ProgressJudgeInput & JudgeExtras, recentMessages: number): string {
  const seen = new Set<string>();
  const before = describeActions(input.earlierSteps, seen);
  const since = describeActions(input.recentSteps, seen);
  const messages = (input.messages ?? []).slice(-recentMessages).map(renderMessage);
  return [
    `Goal: ${input.goal}`,
    '',
    `Before the previous check (${before.length} actions, latest shown):`,
    ...(before.length > 0 ? before.slice(-10) : ['(none)']),
    '',
    `Since the previous check (${since.length} actions):`,
    ...(since.length > 0 ? since : ['(none)']),
    ...(messages.length > 0 ? ['', 'Latest messages:', ...messages] : []),
  ].join('\n');
}

/** The verdict in a helper model's reply: the input of its call to `tool`, or an answer that is the verdict as JSON. */
export function verdictIn<S extends z.ZodType>(response: ModelResponse, tool: string, schema: S): z.output<S> | null {
  let candidate: unknown = null;
  if (response.type === 'tool_calls') {
    const call = response.calls.find((c) => c.name === tool);
    if (!call) return null;
    try {
      candidate = JSON.parse(call.arguments);
    } catch {
      return null;
    }
  } else if (response.type === 'answer') {
    candidate = response.result;
    if (typeof candidate === 'string') {
      try {
        candidate = JSON.parse(candidate);
      } catch {
        return null;
      }
    }
  }
  const parsed = schema.safeParse(candidate);
  return parsed.success ? parsed.data : null;
}

/** One question put to a helper model that must answer through `tool` (a verdict), bounded by `timeoutMs`. */
export interface VerdictRequest {
  readonly model: Model;
  readonly runId: string;
  readonly idempotencyKey: string;
  readonly system: string;
  readonly prompt: string;
  readonly tool: { readonly name: string; readonly description: string; readonly schema: z.ZodType };
  readonly maxOutputTokens: number;
  readonly timeoutMs: number;
  readonly signal: AbortSignal | undefined;
}

/**
 * Asks a helper model (a judge, a verifier) for a verdict: its reply, or why
 * there is none (a provider failure or a timeout, which the caller answers
 * with its fallback). Any other throw is a bug and propagates.
 */
export async function askForVerdict(request: VerdictRequest): Promise<{ response: ModelResponse } | { failed: string }> {
  try {
    const response = await withTimeout(
      (signal) =>
        request.model.generate({
          runId: request.runId,
          system: request.system,
          messages: [{ role: 'user', content: request.prompt }],
          tools: [{ name: request.tool.name, description: request.tool.description, inputSchema: z.toJSONSchema(request.tool.schema) as Record<string, unknown> }],
          toolChoice: 'required',
          maxOutputTokens: request.maxOutputTokens,
          signal,
          idempotencyKey: request.idempotencyKey,
        }),
      request.timeoutMs,
      request.signal ?? new AbortController().signal,
      () => new ModelTimeoutError(request.timeoutMs),
    );
    return { response };
  } catch (error) {
    if (error instanceof ModelCallError || error instanceof ModelTimeoutError) return { failed: error.message };
    throw error;
  }
}

/**
 * A model-backed progress judge for the NO_PROGRESS check: "is the agent
 * meaningfully closer to the goal than at the previous check?", answered as a
 * zod-validated verdict through one tool. It has its own token budget per run
 * and falls back to the heuristic judge when the budget is spent, the
 * provider fails or times out, or the reply is no valid verdict (its tokens
 * count all the same). Its spend is the run's: it counts against the run's
 * token and cost budgets (not its turns) and is traced as `judge`.
 */
export function modelJudge(options: ModelJudgeOptions): ProgressJudge {
  const budget = options.maxTokensPerRun ?? 20_000;
  const maxOutputTokens = options.maxOutputTokens ?? 300;
  const recentMessages = options.recentMessages ?? 30;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const name = `model:${options.model.id}`;

  return async (input: ProgressJudgeInput & JudgeExtras): Promise<JudgeResult> => {
    const fallback = (why: string, spend: ModelSpend | null): JudgeResult => ({ ...heuristicJudge(input), judge: `heuristic (${name} ${why})`, spend });
    const spent = input.judgeTokens ?? 0;
    if (spent >= budget) return fallback(`spent its budget: ${spent} of ${budget} tokens`, null);
    const asked = await askForVerdict({
      model: options.model,
      runId: input.runId ?? 'judge',
      idempotencyKey: `${input.runId ?? 'judge'}:judge:${input.earlierSteps.length + input.recentSteps.length}`,
      system: INSTRUCTIONS,
      prompt: prompt(input, recentMessages),
      tool: { name: VERDICT_TOOL, description: 'Report whether the agent is making progress, and why.', schema: JudgeVerdict },
      maxOutputTokens,
      timeoutMs,
      signal: input.signal,
    });
    if ('failed' in asked) return fallback(`failed: ${asked.failed}`, null);
    const { response } = asked;
    const spend: ModelSpend = { modelId: response.modelId, usage: response.usage };
    const verdict = verdictIn(response, VERDICT_TOOL, JudgeVerdict);
    if (!verdict) return fallback(`gave no valid verdict (it replied ${response.type})`, spend);
    return { progressing: verdict.progressing, why: verdict.why, judge: name, spend };
  };
}
