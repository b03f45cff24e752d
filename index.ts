// The public API of reins.
export { defineAgent, type Agent, type AgentOptions, type StartOptions } from './agents/define-agent.js';
export {
  tool,
  BudgetExceededError,
  withSpend,
  SpentResult,
  type ToolContext,
  type ToolDefinition,
  type ToolOptions,
  type Reconciliation,
  type ApprovalOptions,
  type RateLimitOptions,
} from './agents/tool.js';
export { HiddenToolFailure } from './agents/output-check.js';
export { scriptedModel, type ScriptStep, type ScriptContext, type ScriptedModelOptions } from './agents/scripted-model.js';
export type { Model, ModelRequest, ToolSchema, Message, ModelResponse, ToolCall } from './agents/model.js';
export { fromAiSdk, RESERVED_TOOLS, classifyProviderError, type AiSdkModelOptions, type AiSdkLanguageModel } from './agents/ai-sdk.js';
export { modelJudge, JudgeVerdict, type ModelJudgeOptions } from './agents/model-judge.js';
export { accept, reject, Verdict, VerifyTimeoutError, type Verify, type VerifyRun, type SeenToolResult } from './agents/verify.js';
export { modelVerifier, heuristicVerifier, AnswerVerdict, type ModelVerifierOptions } from './agents/model-verifier.js';
export { transcriptView, digest, SUMMARY_HEADER, type CompactionSetup } from './agents/compaction.js';
export type { JudgeCall } from './agents/actors.js';
export { AgentRun, type AgentRunOptions } from './agents/agent-run.js';
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
export { createLogger, type Logger, type LogFields, type LogDestination, type LoggerOptions } from './agents/logger.js';
export {
  Supervisor,
  MachineMismatchError,
  RunEndedError,
  UnknownAgentError,
  UnsupportedCommandError,
  RunLostError,
  DeadChildError,
  type SupervisorOptions,
  type StartRunOptions,
} from './agents/supervisor.js';
export { ChartVersionError, AgentVersionError } from './agents/version-errors.js';
export { planStoredRun, type AgentMigration, type AgentSnapshot, type Versioning, type StoredRunPlan } from './agents/stored-version.js';
export { CHART_VERSIONS, CHART_MIGRATIONS, type ChartMigration, type PersistedSnapshot } from './machines/migrations/index.js';
export { HostedRun, type RunView, type RunOrigin, type RunIdentity } from './agents/agent-run.js';
export { agentDefinition, definitionOf, AGENT_MACHINE_ID, type RunDefinition, type Hostable, type HostEnvironment, type NewRunOptions } from './agents/run-definition.js';
export {
  definePipeline,
  PIPELINE_MACHINE_ID,
  type Pipeline,
  type PipelineOptions,
  type StageOptions,
  type Route,
  type ChildRequest,
  type PipelineViewOf,
} from './agents/pipeline.js';
export { PipelineRun } from './agents/pipeline-run.js';
export { fanOut, Cancellation, type FanOutTask, type FanOutOptions, type FanOutReport, type TaskSettlement } from './agents/fan-out.js';
export { ChildScope, ChildNotStartedError, ScopeDetachedError, type ChildRuns, type ChildSpec } from './agents/child-runs.js';
export {
  approvalQueue,
  approveItem,
  rejectItem,
  listApprovals,
  unredact,
  InvalidEditError,
  type ApprovalQueue,
  type ApprovalQueueOptions,
  type DecideOptions,
  type ListedApproval,
  type Delivery,
} from './agents/approvals.js';
export { storeRateLimiter, localRateLimiter, type RateLimiter } from './agents/rate-limits.js';
export { subAgentTool, subRunId, type SubAgentToolOptions, type SubAgentResult } from './agents/sub-agent.js';
export { treeSpend, formatTree, spentBy, type TreeSpend, type TreeNode } from './agents/budget-tree.js';
export { allocateChild, RunLimits, TreeLimits, SubtreeSpend, type SpawnBudget, type Allocation } from './guards/nested-budget.js';
export { approvalItemId, journalKeyOf, type RateRefusal } from './machines/agent-machine.js';
export type { RunObserver, CallRecord } from './agents/observer.js';
export * from './machines/index.js';
