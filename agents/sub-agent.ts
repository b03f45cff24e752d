import { createHash } from 'node:crypto';
import { z } from 'zod';
import { allocateChild } from '../guards/nested-budget.js';
import type { CircuitPolicy } from '../guards/circuit.js';
import type { RetryPolicy } from '../guards/retry.js';
import type { TerminalOutcome } from '../machines/outcome.js';
import { spentBy } from './budget-tree.js';
import type { AgentRun } from './agent-run.js';
import type { Agent } from './define-agent.js';
import { FatalToolError } from './errors.js';
import { BudgetExceededError, tool, withSpend, type ChildStarter, type ToolDefinition } from './tool.js';

/** Longest run id the stores accept. */
const MAX_RUN_ID = 128;
/** A child waits as long as its parent lets it: its wall clock is cut to the parent's deadline, not by the tool's timeout. */
const DEFAULT_SUB_AGENT_TIMEOUT_MS = 24 * 60 * 60_000;

export interface SubAgentToolOptions<S extends z.ZodType> {
  name: string;
  description: string;
  /** The tool's input, as the model calls it. */
  input: S;
  /** The agent each call starts a run of. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  agent: Agent<any>;
  /** The child's run input from the tool's input (default: the tool's input as is). */
  childInput?: (input: z.output<S>) => unknown;
  /**
   * The part of what the parent has left that one child may take, in (0, 1]
   * (default 1: a run's calls run one after another, so its child may use all
   * that is left; what it does not spend stays the parent's).
   */
  share?: number;
  timeoutMs?: number;
  retry?: z.input<typeof RetryPolicy>;
  circuit?: z.input<typeof CircuitPolicy>;
}

/** What the model sees of a finished child. */
export interface SubAgentResult {
  readonly runId: string;
  readonly outcome: TerminalOutcome;
}

/**
 * The id of the child one call starts: the parent's run id and the call's
 * step, so that a parent restored after a crash (or retrying the call)
 * re-attaches to the child it started instead of starting a second one.
 */
export function subRunId(parentRunId: string, step: number, index = 0): string {
  const id = `${parentRunId}.${step}${index > 0 ? `-${index}` : ''}`;
  if (id.length <= MAX_RUN_ID) return id;
  // Deep trees outgrow the id alphabet's length: a digest keeps it unique and stable.
  return `sub-${createHash('sha256').update(`${parentRunId}\u0000${step}\u0000${index}`).digest('hex').slice(0, 40)}`;
}

/**
 * A tool that runs a sub-agent and returns its outcome. The child's limits
 * are the smaller of its agent's own and what the parent has left (turns,
 * tokens, cost, wall clock; one of its descendants and one level of depth):
 * a child can never be given more than its parent has left. When the parent
 * has no room (fan-out, depth, or a spend budget spent), the call throws
 * BudgetExceededError before anything starts, and the parent ends
 * BUDGET_EXCEEDED naming that budget. The child's spend, and its own
 * subtree's, is added to the parent's, so the parent's budgets see the tree's.
 * The child's outcome, whatever its reason, is the result: the model decides
 * what to do with a child that failed. On a Supervisor the child is one of the
 * run's child runs: durable, listed with `store.list({ parentId })`, killed
 * with its parent, re-attached by a restored parent; outside one (a run
 * started with `agent.start`) it runs in this process.
 */
export function subAgentTool<S extends z.ZodType>(options: SubAgentToolOptions<S>): ToolDefinition {
  const share = options.share ?? 1;
  if (!(share > 0 && share <= 1)) throw new RangeError(`${options.name}: share must be in (0, 1], got ${share}`);
  // Read when a call starts a child: an agent that starts runs of itself is defined after its own tool.
  const local = inProcessChildren(() => options.agent);
  return tool({
    name: options.name,
    description: options.description,
    input: options.input,
    // Re-running a call re-attaches to the child its id names: repeating it does nothing new.
    sideEffect: 'idempotent',
    timeoutMs: options.timeoutMs ?? DEFAULT_SUB_AGENT_TIMEOUT_MS,
    ...(options.retry ? { retry: options.retry } : {}),
    ...(options.circuit ? { circuit: options.circuit } : {}),
    run: async (input, ctx) => {
      if (!ctx.budget) throw new FatalToolError(`${options.name} starts sub-runs and must be called by a run`);
      const allocation = allocateChild(ctx.budget, options.agent.limits, share);
      if (!allocation.ok) {
        throw new BudgetExceededError(
          allocation.breach,
          `${options.name}: no room for another sub-run of ${options.agent.id} (${allocation.breach.budget}: limit ${allocation.breach.limit}, used ${allocation.breach.used})`,
        );
      }
      const runId = subRunId(ctx.runId, ctx.step);
      const childInput = options.childInput ? options.childInput(input) : input;
      // A Supervisor's child runs (durable, parentId set, ended with their parent); in process without one.
      const children = ctx.children ?? local;
      const outcome = await children.run({ runId, agentId: options.agent.id, input: childInput, limits: allocation.limits }, ctx.signal);
      const result: SubAgentResult = { runId, outcome };
      return withSpend(result, spentBy(outcome));
    },
  });
}

/** Children of runs that have no host: started in this process, ended when their parent stops waiting. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function inProcessChildren(agentOf: () => Agent<any>): ChildStarter {
  const running = new Map<string, AgentRun>();
  return {
    async run(spec, signal) {
      let child = running.get(spec.runId);
      if (!child) {
        const started = agentOf().start({ input: spec.input, runId: spec.runId, ...(spec.limits ? { limits: spec.limits } : {}) });
        running.set(spec.runId, started);
        void started.outcome.then(() => running.delete(spec.runId));
        child = started;
      }
      const run = child;
      if (signal.aborted) run.kill('reins', 'its parent stopped waiting for it');
      const onAbort = () => run.kill('reins', 'its parent stopped waiting for it');
      signal.addEventListener('abort', onAbort, { once: true });
      try {
        return await run.outcome;
      } finally {
        signal.removeEventListener('abort', onAbort);
      }
    },
  };
}
