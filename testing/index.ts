// reins/testing: scenario tests, exploration with injected faults, and recorded runs as regression tests.
export { VirtualClock, ClockInUseError } from './clock.js';
export { mockTool, MockExhaustedError, type MockAnswer, type MockBehaviour, type MockCall, type MockReconcile, type MockTool, type CallRecord } from './mock-tool.js';
export { NotRedefinableError, UnknownToolError, UnknownStageAgentError, type AgentScript, type ModelScript } from './redefine.js';
export {
  scenario,
  ScenarioStuckError,
  ScenarioOptionsError,
  type ScenarioOptions,
  type ScenarioResult,
  type ScenarioTarget,
  type ApprovalScript,
  type OperatorStep,
  type ChildResult,
} from './scenario.js';
export { fromRecorded, type RecordedRun, type RecordedRunPart, type RecordedAttempt, type Divergence } from './recorded.js';
export { reinsMatchers, toEndWith, toHaveCalled, toHaveCalledBefore, type MatcherResult } from './matchers.js';
export {
  explore,
  ALL_FAULTS,
  type ExploreOptions,
  type ExploreReport,
  type ExploreFailure,
  type Faults,
  type ModelFault,
  type ToolFaultName,
  type ApprovalFault,
  type Choice,
} from './explore.js';
export type { Coverage } from './coverage.js';
export type { Violation, ViolationKind } from './invariants.js';
