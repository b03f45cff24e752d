import { z } from 'zod';
import { TokenUsage } from '../guards/usage.js';
import { FinishReason } from './outcome.js';

/** A tool call as providers return it: the arguments stay raw JSON text so that malformed JSON reaches the validator, not a crash. */
export const ToolCall = z.object({ id: z.string(), name: z.string(), arguments: z.string() });
export type ToolCall = z.infer<typeof ToolCall>;

/** Transcript messages; the system prompt travels separately. An assistant turn keeps the provider's finish reason beside it. */
export const Message = z.discriminatedUnion('role', [
  z.object({ role: z.literal('user'), content: z.string() }),
  z.object({
    role: z.literal('assistant'),
    content: z.string(),
    toolCalls: z.array(ToolCall),
    finishReason: FinishReason.optional(),
    rawFinishReason: z.string().nullable().optional(),
  }),
  z.object({ role: z.literal('tool'), callId: z.string(), tool: z.string(), content: z.string(), isError: z.boolean() }),
]);
export type Message = z.infer<typeof Message>;

/** Tokens a helper model (summariser, progress judge) spent for the run: counted in its usage, not as a turn. */
export const ModelSpend = z.object({ modelId: z.string(), usage: TokenUsage });
export type ModelSpend = z.infer<typeof ModelSpend>;

/**
 * A compaction, stored in the transcript as an entry of its own: the raw
 * entries from `keep` up to (not including) `upTo` are read as one summary.
 * Appending a marker (keyed by its step, like every transcript append) is the
 * whole rewrite: nothing stored is deleted, so a crash mid-compaction leaves
 * either the old transcript or the compacted one, never a mix.
 */
export const CompactionMarker = z.object({
  role: z.literal('compaction'),
  step: z.number().int().positive(),
  keep: z.number().int().nonnegative(),
  upTo: z.number().int().nonnegative(),
  summary: z.string(),
  /** 'digest' (deterministic) or the summariser model's id. */
  by: z.string(),
  reason: z.enum(['threshold', 'length']),
  /** What the summariser spent, so that a re-run after a crash reports it without summarising again. */
  spend: ModelSpend.nullable().optional(),
});
export type CompactionMarker = z.infer<typeof CompactionMarker>;

/** What a run's transcript store holds: messages, and the compaction markers that rewrite how they are read. */
export const TranscriptEntry = z.union([Message, CompactionMarker]);
export type TranscriptEntry = z.infer<typeof TranscriptEntry>;

const meta = {
  usage: TokenUsage,
  finishReason: FinishReason,
  /** The provider's own finish reason, verbatim, so nothing is lost in normalising. */
  rawFinishReason: z.string().nullable(),
  modelId: z.string(),
};

/**
 * What one model call decided. give_up and escalate are deliberate exits,
 * distinct from failures. `truncated`: the output hit its length limit before
 * the decision was complete (a tool call with cut-off arguments, or a cut-off
 * answer); the loop re-asks with a raised limit, then with a compacted
 * context, before it gives up.
 */
export const ModelResponse = z.discriminatedUnion('type', [
  z.object({ type: z.literal('tool_calls'), text: z.string(), calls: z.array(ToolCall), ...meta }),
  z.object({ type: z.literal('answer'), result: z.json(), ...meta }),
  z.object({ type: z.literal('give_up'), explanation: z.string(), ...meta }),
  z.object({ type: z.literal('escalate'), why: z.string(), ...meta }),
  z.object({ type: z.literal('refused'), message: z.string(), ...meta }),
  z.object({
    type: z.literal('truncated'),
    text: z.string(),
    calls: z.array(ToolCall),
    /** The output limit the call ran with, when the adapter knows it. */
    maxOutputTokens: z.number().int().positive().nullable(),
    ...meta,
  }),
]);
export type ModelResponse = z.infer<typeof ModelResponse>;

/** What the compaction actor reports back to the machine. */
export const CompactionResult = z.object({
  compacted: z.boolean(),
  /** Messages the summary replaced, and messages the model sees after it. */
  replaced: z.number().int().nonnegative(),
  kept: z.number().int().nonnegative(),
  by: z.string(),
  spend: ModelSpend.nullable(),
});
export type CompactionResult = z.infer<typeof CompactionResult>;

/** A progress judge's verdict as the machine stores it: the verdict, which judge gave it, and what a model judge spent. */
export const JudgeResult = z.object({
  progressing: z.boolean(),
  why: z.string(),
  judge: z.string().optional(),
  spend: ModelSpend.nullable().optional(),
});
export type JudgeResult = z.infer<typeof JudgeResult>;

/** An answer check's verdict as the machine stores it: accepted or not, why, which check gave it, and what a model-backed check spent. */
export const VerifyResult = z.object({
  accepted: z.boolean(),
  reason: z.string(),
  by: z.string(),
  spend: ModelSpend.nullable().optional(),
});
export type VerifyResult = z.infer<typeof VerifyResult>;
