import type { Message, ModelResponse } from '../machines/model-types.js';

export type { Message, ModelResponse, ToolCall } from '../machines/model-types.js';

/** A tool as the model sees it: the zod input schema rendered as JSON Schema. */
export interface ToolSchema {
  readonly name: string;
  readonly description: string;
  readonly inputSchema: Record<string, unknown>;
}

/** One model call's input. */
export interface ModelRequest {
  /** The run this call belongs to (providers take it as a user or trace id). */
  readonly runId: string;
  readonly system: string;
  readonly messages: readonly Message[];
  readonly tools: readonly ToolSchema[];
  readonly signal: AbortSignal;
  /** (run, step, attempt) of this call, for providers and caches that deduplicate. */
  readonly idempotencyKey: string;
}

/**
 * The model seam: messages and tool schemas in; tool calls, an answer, a
 * give-up or an escalation out, with usage and the provider's finish reason.
 * Adapters throw `ModelCallError` for provider failures; anything else they
 * throw is treated as a bug and ends the run INTERNAL_ERROR.
 */
export interface Model {
  /** The id prices are looked up by, e.g. "gpt-4o-mini". */
  readonly id: string;
  generate(request: ModelRequest): Promise<ModelResponse>;
}
