import { z } from 'zod';
import { TokenUsage } from '../guards/usage.js';
import { FinishReason } from './outcome.js';

/** A tool call as providers return it: the arguments stay raw JSON text so that malformed JSON reaches the validator, not a crash. */
export const ToolCall = z.object({ id: z.string(), name: z.string(), arguments: z.string() });
export type ToolCall = z.infer<typeof ToolCall>;

/** Transcript messages; the system prompt travels separately. */
export const Message = z.discriminatedUnion('role', [
  z.object({ role: z.literal('user'), content: z.string() }),
  z.object({ role: z.literal('assistant'), content: z.string(), toolCalls: z.array(ToolCall) }),
  z.object({ role: z.literal('tool'), callId: z.string(), tool: z.string(), content: z.string(), isError: z.boolean() }),
]);
export type Message = z.infer<typeof Message>;

const meta = {
  usage: TokenUsage,
  finishReason: FinishReason,
  /** The provider's own finish reason, verbatim, so nothing is lost in normalising. */
  rawFinishReason: z.string().nullable(),
  modelId: z.string(),
};

/** What one model call decided. give_up and escalate are deliberate exits, distinct from failures. */
export const ModelResponse = z.discriminatedUnion('type', [
  z.object({ type: z.literal('tool_calls'), text: z.string(), calls: z.array(ToolCall), ...meta }),
  z.object({ type: z.literal('answer'), result: z.json(), ...meta }),
  z.object({ type: z.literal('give_up'), explanation: z.string(), ...meta }),
  z.object({ type: z.literal('escalate'), why: z.string(), ...meta }),
  z.object({ type: z.literal('refused'), message: z.string(), ...meta }),
]);
export type ModelResponse = z.infer<typeof ModelResponse>;
