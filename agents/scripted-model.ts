import type { z } from 'zod';
import type { TokenUsage } from '../guards/usage.js';
import type { FinishReason } from '../machines/outcome.js';
import { ModelCallError, ScriptExhaustedError } from './errors.js';
import type { Message, Model, ModelRequest, ModelResponse, ToolCall } from './model.js';

type Json = z.core.util.JSONType;

/** One tool call in a script; `rawArgs` sends arguments verbatim (e.g. malformed JSON) instead of serialising `args`. */
export interface ScriptedCall {
  name: string;
  args?: unknown;
  rawArgs?: string;
}

/** One scripted turn. `fail` simulates a provider error; `usage` overrides the deterministic token estimate. */
export type ScriptStep = (
  | { call: string; args?: unknown; rawArgs?: string; text?: string }
  | { calls: ScriptedCall[]; text?: string }
  | { answer: Json }
  | { giveUp: string }
  | { escalate: string }
  | { refuse: string; finishReason?: Extract<FinishReason, 'content_filter' | 'refusal'> }
  /** Output cut off at its length limit: `truncated` is the partial output, the arguments of a call to `call` when given, else an answer. */
  | { truncated: string; call?: string }
  | { fail: string; retryable: boolean; status?: number }
) & { usage?: Partial<TokenUsage>; latencyMs?: number };

/** What a script function sees: the turn number (1-based), the whole transcript, and the last tool results. */
export interface ScriptContext {
  readonly runId: string;
  readonly turn: number;
  readonly messages: readonly Message[];
  readonly lastResults: ReadonlyArray<{ tool: string; content: string; isError: boolean }>;
  /** The previous response was cut off and the loop asks again with the raised output limit. */
  readonly raisedOutputLimit: boolean;
}

export interface ScriptedModelOptions {
  id?: string;
  /** Simulated latency per call; honours the abort signal. */
  latencyMs?: number;
  /** The context window to report (in the same estimated tokens as its usage), so that compaction can be exercised. */
  contextWindow?: number;
}

/** A deterministic model driven by a list of turns or a function of the transcript; for tests, examples and the demo. */
export function scriptedModel(script: readonly ScriptStep[] | ((ctx: ScriptContext) => ScriptStep), options: ScriptedModelOptions = {}): Model {
  const id = options.id ?? 'scripted';
  return {
    id,
    ...(options.contextWindow !== undefined ? { contextWindow: options.contextWindow } : {}),
    async generate(request: ModelRequest): Promise<ModelResponse> {
      const turn = request.messages.filter((m) => m.role === 'assistant').length + 1;
      const step =
        typeof script === 'function'
          ? script({ runId: request.runId, turn, messages: request.messages, lastResults: lastResults(request.messages), raisedOutputLimit: request.raiseOutputLimit === true })
          : script[turn - 1];
      if (!step) throw new ScriptExhaustedError(turn, Array.isArray(script) ? script.length : 0);
      const latency = step.latencyMs ?? options.latencyMs ?? 0;
      if (latency > 0) await sleep(latency, request.signal);
      if ('fail' in step) throw new ModelCallError(step.fail, { retryable: step.retryable, status: step.status ?? null });
      return toResponse(step, id, turn, request);
    },
  };
}

function lastResults(messages: readonly Message[]): ScriptContext['lastResults'] {
  const out: Array<{ tool: string; content: string; isError: boolean }> = [];
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i]!;
    if (m.role !== 'tool') break;
    out.unshift({ tool: m.tool, content: m.content, isError: m.isError });
  }
  return out;
}

function toResponse(step: Exclude<ScriptStep, { fail: string }>, modelId: string, turn: number, request: ModelRequest): ModelResponse {
  const usage = (output: string): TokenUsage => ({
    inputTokens: step.usage?.inputTokens ?? estimateTokens(request),
    outputTokens: step.usage?.outputTokens ?? Math.max(1, Math.ceil(output.length / 4)),
    ...(step.usage?.cachedInputTokens !== undefined ? { cachedInputTokens: step.usage.cachedInputTokens } : {}),
    ...(step.usage?.reasoningTokens !== undefined ? { reasoningTokens: step.usage.reasoningTokens } : {}),
  });
  const meta = (finishReason: FinishReason, output: string) => ({ usage: usage(output), finishReason, rawFinishReason: finishReason, modelId });
  if ('truncated' in step) {
    const calls = step.call === undefined ? [] : [{ id: `call_${turn}_0`, name: step.call, arguments: step.truncated }];
    return { type: 'truncated', text: step.call === undefined ? step.truncated : '', calls, maxOutputTokens: null, ...meta('length', step.truncated) };
  }
  if ('call' in step || 'calls' in step) {
    const list: ScriptedCall[] = 'calls' in step ? step.calls : [{ name: step.call, args: step.args, ...(step.rawArgs !== undefined ? { rawArgs: step.rawArgs } : {}) }];
    const calls: ToolCall[] = list.map((c, i) => ({ id: `call_${turn}_${i}`, name: c.name, arguments: c.rawArgs ?? JSON.stringify(c.args ?? {}) }));
    const text = step.text ?? '';
    return { type: 'tool_calls', text, calls, ...meta('tool_calls', text + calls.map((c) => c.arguments).join('')) };
  }
  if ('answer' in step) return { type: 'answer', result: step.answer, ...meta('stop', JSON.stringify(step.answer)) };
  if ('giveUp' in step) return { type: 'give_up', explanation: step.giveUp, ...meta('stop', step.giveUp) };
  if ('escalate' in step) return { type: 'escalate', why: step.escalate, ...meta('stop', step.escalate) };
  const finishReason = step.finishReason ?? 'content_filter';
  return { type: 'refused', message: step.refuse, ...meta(finishReason, step.refuse) };
}

/** About four characters a token: deterministic, and close enough for budgets in tests. */
function estimateTokens(request: ModelRequest): number {
  let chars = request.system.length;
  for (const m of request.messages) chars += m.content.length + (m.role === 'assistant' ? m.toolCalls.reduce((n, c) => n + c.arguments.length, 0) : 0);
  return Math.max(1, Math.ceil(chars / 4));
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
