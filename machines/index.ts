// The statecharts and the terminal-reason protocol.
export * from './outcome.js';
export * from './model-types.js';
export { AgentContext, AgentInput, type AgentEvent } from './agent-context.js';
export { createAgentMachine, idempotencyKey, stateName, type AgentMachine, type AgentSpec, type ToolPolicy } from './agent-machine.js';
