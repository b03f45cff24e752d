// The public API of reins.
export { defineAgent, type Agent, type AgentOptions, type StartOptions } from './agents/define-agent.js';
export { tool, type ToolContext, type ToolDefinition, type ToolOptions, type Reconciliation } from './agents/tool.js';
export { scriptedModel, type ScriptStep, type ScriptContext, type ScriptedModelOptions } from './agents/scripted-model.js';
export type { Model, ModelRequest, ToolSchema, Message, ModelResponse, ToolCall } from './agents/model.js';
export { fromAiSdk, RESERVED_TOOLS, classifyProviderError, type AiSdkModelOptions, type AiSdkLanguageModel } from './agents/ai-sdk.js';
export { modelJudge, JudgeVerdict, type ModelJudgeOptions } from './agents/model-judge.js';
export { transcriptView, digest, SUMMARY_HEADER, type CompactionSetup } from './agents/compaction.js';
export type { JudgeCall } from './agents/actors.js';
export { AgentRun } from './agents/agent-run.js';
export type { RunStatus, BudgetUse, Transition } from './agents/status.js';
export {
  ReinsError,
  RetryableToolError,
  FatalToolError,
  ToolTimeoutError,
  ModelCallError,
  ModelTimeoutError,
  ScriptExhaustedError,
  RunNotFoundError,
} from './agents/errors.js';
export { createLogger, type Logger } from './agents/logger.js';
export { Supervisor, MachineMismatchError, RunEndedError, UnknownAgentError, DeadChildError, type SupervisorOptions } from './agents/supervisor.js';
export type { RunObserver, CallRecord } from './agents/observer.js';
export * from './machines/index.js';
