import type { Message, ModelResponse } from '../machines/model-types.js';
import type { ToolDefinition } from './tool.js';

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
  /** The previous response was cut off at its output limit: use the adapter's raised limit for this call. */
  readonly raiseOutputLimit?: boolean;
  /** A cap on this call's output, over the adapter's own (helper calls such as a progress judge keep theirs small). */
  readonly maxOutputTokens?: number;
  /** 'required': the model must call one of `tools` (structured output through a tool); 'auto' by default. */
  readonly toolChoice?: 'auto' | 'required';
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
  /** Input tokens the model takes in, when the adapter knows; compaction is measured against it. */
  readonly contextWindow?: number;
  /**
   * Tools the adapter maps to decisions (e.g. `reins_give_up` to give_up):
   * defineAgent offers them to the model beside the agent's own and validates
   * their input the same way. A valid call made alone becomes the decision;
   * made beside other calls, it is answered "call it alone" and nothing ends.
   */
  readonly reservedTools?: readonly ToolDefinition[];
  generate(request: ModelRequest): Promise<ModelResponse>;
}
