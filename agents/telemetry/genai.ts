/**
 * OpenTelemetry GenAI semantic-convention names (Development status). The
 * conventions ask instrumentations to copy incubating names rather than
 * depend on the incubating entry point of @opentelemetry/semantic-conventions,
 * whose names may change between its minor versions; these are the names of
 * semantic-conventions 1.37+ (`gen_ai.provider.name`, not the older
 * `gen_ai.system`).
 */
export const GEN_AI = {
  operationName: 'gen_ai.operation.name',
  providerName: 'gen_ai.provider.name',
  agentId: 'gen_ai.agent.id',
  agentName: 'gen_ai.agent.name',
  conversationId: 'gen_ai.conversation.id',
  toolName: 'gen_ai.tool.name',
  toolType: 'gen_ai.tool.type',
  toolCallId: 'gen_ai.tool.call.id',
  requestModel: 'gen_ai.request.model',
  responseModel: 'gen_ai.response.model',
  responseFinishReasons: 'gen_ai.response.finish_reasons',
  inputTokens: 'gen_ai.usage.input_tokens',
  outputTokens: 'gen_ai.usage.output_tokens',
  cacheReadInputTokens: 'gen_ai.usage.cache_read.input_tokens',
  reasoningOutputTokens: 'gen_ai.usage.reasoning.output_tokens',
} as const;

/** The general (stable) error attribute: a low-cardinality class of the error, never its message. */
export const ERROR_TYPE = 'error.type';

/** The `gen_ai.operation.name` values reins emits. */
export type GenAiOperation = 'invoke_agent' | 'execute_tool' | 'chat';

/** reins' own attributes, for what the conventions have no name for. */
export const REINS = {
  runId: 'reins.run.id',
  resumed: 'reins.run.resumed',
  terminalReason: 'reins.terminal_reason',
  terminalGroup: 'reins.terminal_group',
  turns: 'reins.turns',
  costUsd: 'reins.cost_usd',
  costKnown: 'reins.cost_known',
  step: 'reins.step',
  attempt: 'reins.attempt',
  callKind: 'reins.call.kind',
} as const;
