import type { TokenUsage } from '../../guards/usage.js';
import { checkToolCall } from '../../guards/validate.js';
import type { ModelResponse, ToolCall } from '../../machines/model-types.js';
import type { FinishReason } from '../../machines/outcome.js';
import { ModelCallError } from '../errors.js';
import type { ToolDefinition } from '../tool.js';
import { RESERVED } from './reserved-tools.js';
import type { SpecContent, SpecFinishReason, SpecStreamPart, SpecUsage } from './spec.js';

/** A provider's finish reason as the SDK reports it: usually `{ unified, raw }`; a bare string from an older provider is read as `unified`. */
export type FinishInput = SpecFinishReason | string | undefined;

/**
 * reins' finish reason for the SDK's. `content-filter` is a refusal when
 * the provider's own reason says so ('refusal', Anthropic) or is an ordinary
 * stop (OpenAI reports a refusal message as content-filter over a raw 'stop').
 */
export function normaliseFinishReason(finish: FinishInput): { finishReason: FinishReason; raw: string | null } {
  const unified = typeof finish === 'string' ? finish : finish?.unified;
  const raw = typeof finish === 'string' ? finish : finish?.raw ?? null;
  switch (unified) {
    case 'stop':
      return { finishReason: 'stop', raw };
    case 'length':
      return { finishReason: 'length', raw };
    case 'tool-calls':
      return { finishReason: 'tool_calls', raw };
    case 'content-filter':
      return { finishReason: raw === 'refusal' || raw === 'stop' || raw === 'end_turn' ? 'refusal' : 'content_filter', raw };
    case 'error':
      return { finishReason: 'error', raw };
    default:
      return { finishReason: 'other', raw };
  }
}

/** About four characters a token: stands in when a provider reports no usage at all, so budgets never see zero for real work. */
function estimate(chars: number): number {
  return Math.max(1, Math.ceil(chars / 4));
}

/**
 * Token usage from the SDK's: input total (else no-cache + cache read +
 * cache write), output total (else text + reasoning), cache reads as
 * cached input, reasoning as reasoning. A provider that reports neither
 * input nor output is estimated from characters.
 */
export function normaliseUsage(usage: SpecUsage | undefined, fallback: { promptChars: number; outputChars: number }): TokenUsage {
  const sum = (...values: Array<number | undefined>) => (values.some((v) => v !== undefined) ? values.reduce<number>((n, v) => n + (v ?? 0), 0) : undefined);
  const input = usage?.inputTokens.total ?? sum(usage?.inputTokens.noCache, usage?.inputTokens.cacheRead, usage?.inputTokens.cacheWrite);
  const output = usage?.outputTokens.total ?? sum(usage?.outputTokens.text, usage?.outputTokens.reasoning);
  const cached = usage?.inputTokens.cacheRead;
  const reasoning = usage?.outputTokens.reasoning;
  return {
    inputTokens: Math.max(0, Math.round(input ?? estimate(fallback.promptChars))),
    outputTokens: Math.max(0, Math.round(output ?? estimate(fallback.outputChars))),
    ...(cached !== undefined ? { cachedInputTokens: Math.max(0, Math.round(cached)) } : {}),
    ...(reasoning !== undefined ? { reasoningTokens: Math.max(0, Math.round(reasoning)) } : {}),
  };
}

/** What one call produced, from a generate result or a collected stream. */
export interface Collected {
  readonly text: string;
  /** Complete calls, then calls whose input was still streaming when the output ended (`partial`). */
  readonly calls: ReadonlyArray<ToolCall & { readonly partial?: boolean }>;
  readonly finish: FinishInput;
  readonly usage: SpecUsage | undefined;
}

function field<T>(part: SpecContent | SpecStreamPart, key: string, kind: 'string'): T | undefined {
  const value = (part as unknown as Record<string, unknown>)[key];
  return typeof value === kind ? (value as T) : undefined;
}

/** A tool call's input is JSON text in the specification; anything else is serialised rather than trusted. */
function inputText(part: SpecContent | SpecStreamPart): string {
  const input = (part as unknown as { input?: unknown }).input;
  return typeof input === 'string' ? input : JSON.stringify(input ?? {});
}

/** Text and client-side tool calls of a generate result (calls the provider executed itself are its business). */
export function collectContent(content: readonly SpecContent[], finish: FinishInput, usage: SpecUsage | undefined): Collected {
  let text = '';
  const calls: ToolCall[] = [];
  for (const part of content) {
    if (part.type === 'text') text += field<string>(part, 'text', 'string') ?? '';
    else if (part.type === 'tool-call' && (part as { providerExecuted?: boolean }).providerExecuted !== true) {
      calls.push({ id: field<string>(part, 'toolCallId', 'string') ?? `call_${calls.length}`, name: field<string>(part, 'toolName', 'string') ?? '', arguments: inputText(part) });
    }
  }
  return { text, calls, finish, usage };
}

/** Reads a stream to its end: text deltas, tool calls (and the input of calls cut off before they completed), the finish part; an error part throws. */
export async function collectStream(stream: ReadableStream<SpecStreamPart>, onError: (error: unknown) => unknown): Promise<Collected> {
  let text = '';
  const calls: ToolCall[] = [];
  const pending = new Map<string, { name: string; input: string }>();
  let finish: FinishInput;
  let usage: SpecUsage | undefined;
  let finished = false;
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value: part } = await reader.read();
      if (done) break;
      switch (part.type) {
        case 'text-delta':
          text += field<string>(part, 'delta', 'string') ?? '';
          break;
        case 'tool-input-start':
          if ((part as { providerExecuted?: boolean }).providerExecuted !== true) {
            pending.set(field<string>(part, 'id', 'string') ?? '', { name: field<string>(part, 'toolName', 'string') ?? '', input: '' });
          }
          break;
        case 'tool-input-delta': {
          const call = pending.get(field<string>(part, 'id', 'string') ?? '');
          if (call) call.input += field<string>(part, 'delta', 'string') ?? '';
          break;
        }
        case 'tool-call':
          if ((part as { providerExecuted?: boolean }).providerExecuted === true) break;
          {
            const id = field<string>(part, 'toolCallId', 'string') ?? `call_${calls.length}`;
            pending.delete(id);
            calls.push({ id, name: field<string>(part, 'toolName', 'string') ?? '', arguments: inputText(part) });
          }
          break;
        case 'finish':
          finished = true;
          finish = (part as unknown as { finishReason?: FinishInput }).finishReason;
          usage = (part as unknown as { usage?: SpecUsage }).usage;
          break;
        case 'error':
          throw onError((part as unknown as { error?: unknown }).error);
      }
    }
  } finally {
    reader.releaseLock();
  }
  if (!finished) throw new ModelCallError('the provider stream ended without a finish part', { retryable: true });
  const partial = [...pending.entries()].map(([id, c]) => ({ id, name: c.name, arguments: c.input, partial: true }));
  return { text, calls: [...calls, ...partial], finish, usage };
}

function parses(raw: string): boolean {
  try {
    JSON.parse(raw);
    return true;
  } catch {
    return false;
  }
}

/** How the adapter reads replies. */
export interface DecisionRules {
  readonly modelId: string;
  /** The reserved tools offered, by name (their schemas validate a reserved call). */
  readonly reserved: ReadonlyMap<string, ToolDefinition>;
  /** Whether answers must come through reins_answer (a structured answer): plain text is then no answer. */
  readonly structuredAnswer: boolean;
  /** The output limit the call ran with, reported with a truncation. */
  readonly maxOutputTokens: number | null;
}

/**
 * Turns one reply into a decision. In order: a refusal or a filtered output
 * ends the run with the provider's words; an 'error' finish is a provider
 * failure; output cut off at its limit is `truncated` unless every call in
 * it is complete; a valid reserved call made alone is its decision; other
 * calls are tool calls; text is the answer.
 */
export function decide(collected: Collected, usage: TokenUsage, rules: DecisionRules): ModelResponse {
  const { finishReason, raw } = normaliseFinishReason(collected.finish);
  const meta = { usage, finishReason, rawFinishReason: raw, modelId: rules.modelId };
  const text = collected.text;
  const calls: ToolCall[] = collected.calls.map(({ id, name, arguments: args }) => ({ id, name, arguments: args }));
  if (finishReason === 'content_filter' || finishReason === 'refusal') {
    return { type: 'refused', message: text.trim() || `the provider stopped the output (${raw ?? finishReason}) and gave no message`, ...meta };
  }
  if (finishReason === 'error') {
    throw new ModelCallError(`the provider ended the output with an error (finish reason ${raw ?? 'error'})`, { retryable: true });
  }
  if (finishReason === 'length' && (calls.length === 0 || collected.calls.some((c) => c.partial === true || !parses(c.arguments)))) {
    return { type: 'truncated', text, calls, maxOutputTokens: rules.maxOutputTokens, ...meta };
  }
  const only = calls.length === 1 ? calls[0]! : null;
  if (only && rules.reserved.has(only.name)) {
    const checked = checkToolCall(rules.reserved, only.name, only.arguments);
    // An invalid reserved call goes to the loop as a call: the validator sends the model the schema and what was wrong.
    if (checked.ok) {
      const value = checked.value as { explanation?: string; why?: string; result?: unknown };
      if (only.name === RESERVED.giveUp) return { type: 'give_up', explanation: String(value.explanation), ...meta };
      if (only.name === RESERVED.escalate) return { type: 'escalate', why: String(value.why), ...meta };
      if (only.name === RESERVED.answer) return { type: 'answer', result: (value.result ?? null) as Extract<ModelResponse, { type: 'answer' }>['result'], ...meta };
    }
  }
  if (calls.length > 0) return { type: 'tool_calls', text, calls, ...meta };
  // Plain text is the answer, unless answers are structured: then it is a turn with neither, and the loop nudges the model.
  if (text.trim() !== '' && !rules.structuredAnswer) return { type: 'answer', result: text, ...meta };
  return { type: 'tool_calls', text, calls: [], ...meta };
}
