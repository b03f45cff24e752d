/**
 * The parts of the AI SDK's language-model specification reins uses, typed
 * structurally so that reins needs no runtime (nor type) dependency on `ai`:
 * LanguageModelV3 (ai 6, the @ai-sdk/* 3.x providers) and LanguageModelV4
 * (ai 7) agree on every field here. Checked against @ai-sdk/provider's
 * LanguageModelV3 types in test/model-layer.
 */

/** JSON as the specification carries it. */
export type SpecJson = null | string | number | boolean | SpecJson[] | { [key: string]: SpecJson | undefined };

/** The specification versions reins adapts. */
export const SUPPORTED_SPECIFICATION_VERSIONS = ['v3', 'v4'] as const;
export type SpecificationVersion = (typeof SUPPORTED_SPECIFICATION_VERSIONS)[number];

export interface SpecTextPart {
  readonly type: 'text';
  readonly text: string;
}
export interface SpecToolCallPart {
  readonly type: 'tool-call';
  readonly toolCallId: string;
  readonly toolName: string;
  readonly input: unknown;
}
export interface SpecToolResultPart {
  readonly type: 'tool-result';
  readonly toolCallId: string;
  readonly toolName: string;
  readonly output: { readonly type: 'text'; readonly value: string } | { readonly type: 'error-text'; readonly value: string };
}

/** A prompt message (the specification's, not the SDK's user-facing one). */
export type SpecMessage =
  | { readonly role: 'system'; readonly content: string }
  | { readonly role: 'user'; readonly content: SpecTextPart[] }
  | { readonly role: 'assistant'; readonly content: Array<SpecTextPart | SpecToolCallPart> }
  | { readonly role: 'tool'; readonly content: SpecToolResultPart[] };

export interface SpecFunctionTool {
  readonly type: 'function';
  readonly name: string;
  readonly description?: string;
  /** JSON Schema (draft 7 as the specification types it; zod's output fits it). */
  readonly inputSchema: object;
}

export type SpecToolChoice = { readonly type: 'auto' } | { readonly type: 'required' } | { readonly type: 'none' };

/** Call options; every field reins sets is in both V3 and V4. */
export interface SpecCallOptions {
  readonly prompt: SpecMessage[];
  readonly maxOutputTokens?: number;
  readonly temperature?: number;
  readonly tools?: SpecFunctionTool[];
  readonly toolChoice?: SpecToolChoice;
  readonly abortSignal?: AbortSignal;
  readonly headers?: Record<string, string | undefined>;
  readonly providerOptions?: Record<string, Record<string, SpecJson>>;
}

/** `unified` is the SDK's normalised reason, `raw` the provider's own. */
export interface SpecFinishReason {
  readonly unified: 'stop' | 'length' | 'content-filter' | 'tool-calls' | 'error' | 'other';
  readonly raw: string | undefined;
}

export interface SpecUsage {
  readonly inputTokens: {
    readonly total: number | undefined;
    readonly noCache: number | undefined;
    readonly cacheRead: number | undefined;
    readonly cacheWrite: number | undefined;
  };
  readonly outputTokens: {
    readonly total: number | undefined;
    readonly text: number | undefined;
    readonly reasoning: number | undefined;
  };
}

/** A content part of a result; reins reads `text` and `tool-call` parts and ignores the rest (reasoning, sources, files …). */
export interface SpecContent {
  readonly type: string;
}

export interface SpecGenerateResult {
  readonly content: readonly SpecContent[];
  readonly finishReason: SpecFinishReason;
  readonly usage: SpecUsage;
  readonly providerMetadata?: unknown;
}

/** A stream part; reins reads text and tool-input deltas, tool calls, the finish part and errors. */
export interface SpecStreamPart {
  readonly type: string;
}

export interface SpecStreamResult {
  readonly stream: ReadableStream<SpecStreamPart>;
}

/** A language model as the AI SDK's providers build it: `openai('gpt-4o-mini')`, `anthropic('claude-sonnet-4-0')`, … */
export interface AiSdkLanguageModel {
  readonly specificationVersion: SpecificationVersion;
  readonly provider: string;
  readonly modelId: string;
  doGenerate(options: SpecCallOptions): PromiseLike<SpecGenerateResult>;
  doStream(options: SpecCallOptions): PromiseLike<SpecStreamResult>;
}
