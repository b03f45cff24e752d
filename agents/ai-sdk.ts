import { z } from 'zod';
import { ModelCallError } from './errors.js';
import type { Model, ModelRequest, ModelResponse } from './model.js';
import { classifyProviderError } from './ai-sdk/errors.js';
import { toFunctionTools, toPrompt } from './ai-sdk/prompt.js';
import { reservedTools } from './ai-sdk/reserved-tools.js';
import { collectContent, collectStream, decide, normaliseUsage, type Collected } from './ai-sdk/result.js';
import { SUPPORTED_SPECIFICATION_VERSIONS, type AiSdkLanguageModel, type SpecCallOptions, type SpecJson } from './ai-sdk/spec.js';

export type { AiSdkLanguageModel } from './ai-sdk/spec.js';
export { RESERVED as RESERVED_TOOLS } from './ai-sdk/reserved-tools.js';
export { classifyProviderError, retryableStatus } from './ai-sdk/errors.js';
export { normaliseFinishReason, normaliseUsage } from './ai-sdk/result.js';

/** How an AI SDK model is called. Everything is optional: `fromAiSdk(openai('gpt-4o-mini'))` works as is. */
export interface AiSdkModelOptions {
  /** The id prices and context windows are looked up by; the provider's model id by default. */
  id?: string;
  /** Input tokens the model takes in, for compaction; by default looked up by id (DEFAULT_CONTEXT_WINDOWS). */
  contextWindow?: number;
  /** Output limit per call; the provider's default when absent. */
  maxOutputTokens?: number;
  /** The limit for a call re-asked after its output was cut off: twice `maxOutputTokens`, or 16,384 when that is unset. */
  raisedMaxOutputTokens?: number;
  temperature?: number;
  /** Read the reply as a stream (the same decisions; partial tool input is kept when the output is cut off). */
  stream?: boolean;
  /**
   * Structured answers: the model finishes by calling `reins_answer({ result })`
   * whose `result` must match this schema (checked like any tool input, with
   * hints); plain text is then no answer. Without it, plain text is the answer.
   */
  answer?: z.ZodType;
  /** 'required' makes every reply a tool call (then `reins_answer` is offered even without `answer`). */
  toolChoice?: 'auto' | 'required';
  /** Passed through to the provider, e.g. `{ openai: { parallelToolCalls: false } }`. */
  providerOptions?: Record<string, Record<string, SpecJson>>;
  headers?: Record<string, string>;
}

/** The usual default output limit of providers that need one; the raised limit when no limit was set. */
const RAISED_DEFAULT = 16_384;

/**
 * Adapts a Vercel AI SDK language model (any provider package: @ai-sdk/openai,
 * @ai-sdk/anthropic, @ai-sdk/google, OpenAI-compatible servers …) to reins'
 * `Model`. Specification versions v3 (ai 6) and v4 (ai 7) are supported; `ai`
 * itself is never imported, the provider package is the user's.
 *
 * The model ends a run through tools reins adds: `reins_give_up`,
 * `reins_escalate`, and `reins_answer` for structured answers; plain text with
 * a stop is the answer otherwise. The provider's finish reason and its raw
 * value travel with every response; content filters and refusals become
 * `refused` with the provider's words; output cut off at its limit becomes
 * `truncated`; provider failures throw `ModelCallError` (429, 5xx, timeouts,
 * network: retryable).
 */
export function fromAiSdk(model: AiSdkLanguageModel, options: AiSdkModelOptions = {}): Model {
  const version = (model as { specificationVersion?: unknown }).specificationVersion;
  if (!SUPPORTED_SPECIFICATION_VERSIONS.includes(version as never)) {
    throw new TypeError(
      `fromAiSdk: ${model.provider}/${model.modelId} implements language-model specification ${String(version)}; ` +
        `reins supports ${SUPPORTED_SPECIFICATION_VERSIONS.join(' and ')} (ai 6 / @ai-sdk/* 3.x providers and later)`,
    );
  }
  const id = options.id ?? model.modelId;
  const answer = options.answer ?? null;
  // Every reply a tool call and no answer schema: the answer is any JSON, through reins_answer.
  const reserved = reservedTools({ answer: answer ?? (options.toolChoice === 'required' ? z.json() : null) });
  const reservedByName = new Map(reserved.map((t) => [t.name, t]));
  const raised = options.raisedMaxOutputTokens ?? (options.maxOutputTokens !== undefined ? options.maxOutputTokens * 2 : RAISED_DEFAULT);

  return {
    id,
    ...(options.contextWindow !== undefined ? { contextWindow: options.contextWindow } : {}),
    reservedTools: reserved,
    async generate(request: ModelRequest): Promise<ModelResponse> {
      const maxOutputTokens = request.maxOutputTokens ?? (request.raiseOutputLimit ? raised : options.maxOutputTokens);
      const prompt = toPrompt(request.system, request.messages);
      const call: SpecCallOptions = {
        prompt,
        ...(request.tools.length > 0 ? { tools: toFunctionTools(request.tools), toolChoice: { type: request.toolChoice ?? options.toolChoice ?? 'auto' } } : {}),
        ...(maxOutputTokens !== undefined ? { maxOutputTokens } : {}),
        ...(options.temperature !== undefined ? { temperature: options.temperature } : {}),
        ...(options.providerOptions ? { providerOptions: options.providerOptions } : {}),
        ...(options.headers ? { headers: options.headers } : {}),
        abortSignal: request.signal,
      };
      const classify = (error: unknown) => classifyProviderError(error, model.provider);
      let collected: Collected;
      try {
        if (options.stream) {
          const { stream } = await model.doStream(call);
          collected = await collectStream(stream, (error) => {
            const classified = classify(error);
            // An error part is the provider's report, whatever its shape: a provider failure, never a reins bug.
            return classified instanceof ModelCallError ? classified : new ModelCallError(`${model.provider}: ${describe(error)}`, { retryable: true, cause: error });
          });
        } else {
          const result = await model.doGenerate(call);
          collected = collectContent(result.content, result.finishReason, result.usage);
        }
      } catch (error) {
        throw classify(error);
      }
      const outputChars = collected.text.length + collected.calls.reduce((n, c) => n + c.arguments.length, 0);
      const usage = normaliseUsage(collected.usage, { promptChars: JSON.stringify(prompt).length, outputChars });
      return decide(collected, usage, { modelId: id, reserved: reservedByName, structuredAnswer: answer !== null, maxOutputTokens: maxOutputTokens ?? null });
    },
  };
}

function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  try {
    return JSON.stringify(error);
  } catch {
    return String(error);
  }
}
