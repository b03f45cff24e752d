// The statecharts and the terminal-reason protocol.
export * from './outcome.js';
export * from './model-types.js';
export { AgentContext, AgentInput, type AgentEvent } from './agent-context.js';
export { createAgentMachine, idempotencyKey, stateName, type AgentMachine, type AgentSpec, type ToolPolicy } from './agent-machine.js';
export { FanOutPolicy, ChildRef, ChildResult, StageResult, ChildPlan, StageRun, PipelineContext, PipelineInput, childRunId, policyName, type PipelineEvent } from './pipeline-context.js';
export {
  createPipelineMachine,
  pipelineStateName,
  stageRunOf,
  ROUTE_ENDS,
  BUILTIN_PIPELINE_GUARDS,
  type PipelineMachine,
  type PipelineSpec,
  type StageSpec,
  type RouteSpec,
  type GuardExpr,
  type PipelineView,
} from './pipeline-machine.js';
