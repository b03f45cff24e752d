import { assign, initialTransition, setup, type SnapshotFrom } from 'xstate';
import { getAdjacencyMap } from 'xstate/graph';
import type { Agent } from '../agents/define-agent.js';
import type { ToolPolicy } from '../machines/agent-machine.js';

/** Where a run meets a decision: a model turn, a tool attempt, an approval. */
export type DecisionKind = 'model' | 'tool' | 'approval';

/** One step of a planned path: at the next decision of this kind (of this tool) in this run, pick this. */
export interface PlannedStep {
  readonly run: string;
  readonly kind: DecisionKind;
  readonly tool?: string;
  readonly pick: string;
}

/** A path of the decision model: its steps in order and how many of them inject a fault. */
export interface Plan {
  readonly steps: readonly PlannedStep[];
  readonly faults: number;
}

/** The faults offered at each kind of decision, defaults first. */
export interface DecisionFaults {
  readonly model: readonly string[];
  readonly tools: readonly string[];
  readonly approvals: readonly string[];
}

/** Model picks that end the run: the model's own exits and an operator's kill. Every other pick is followed by the script's answer. */
const ENDING_MODEL_PICKS = new Set(['giveUp', 'escalate', 'refuse', 'kill']);

interface ToolShape {
  readonly name: string;
  readonly sideEffect: ToolPolicy['sideEffect'];
  readonly maxAttempts: number;
  readonly reconcilable: boolean;
}

/** What the decision machine knows of one agent: its tools' policies, its turn budget, its approval timeout policy, and the calls its script makes when the script is a list. */
interface DecisionInput {
  readonly run: string;
  readonly tools: readonly ToolShape[];
  readonly maxTurns: number;
  readonly replanOnExpiry: boolean;
  /** Per turn (index turn - 1): the tool the model calls (null: it answers) and whether that call waits for approval. */
  readonly script: readonly ScriptedTurn[];
}

/** What the model does at one turn when no fault is injected. */
export interface ScriptedTurn {
  readonly call: string | null;
  readonly approval: boolean;
}

interface DecisionContext extends DecisionInput {
  readonly turn: number;
  readonly tool: string | null;
  readonly attempt: number;
}

type DecisionEvent =
  | { type: 'MODEL'; pick: string; fault: boolean }
  | { type: 'TOOL'; pick: string; fault: boolean }
  | { type: 'APPROVAL'; pick: string; fault: boolean };

const toolOf = (context: DecisionContext) => context.tools.find((t) => t.name === context.tool)!;

/** How a tool fault resolves, by the tool's side-effect class: the call goes on, is tried again, or ends the run. */
function toolFaultGoes(tool: ToolShape, pick: string, attempt: number): 'on' | 'again' | 'end' {
  if (pick === 'ok') return 'on';
  if (pick === 'fatal') return 'end';
  const again = attempt < tool.maxAttempts ? 'again' : 'end';
  if (pick === 'retryable') return again;
  // Timed out, in doubt, or the process died after the effect: a pure or reconcilable call is settled, an idempotent one re-run; otherwise the outcome is unknown.
  if (tool.sideEffect === 'none' || tool.reconcilable) return pick === 'timeout' && tool.sideEffect === 'none' ? again : 'on';
  if (tool.sideEffect === 'idempotent') return pick === 'crash' ? 'on' : again;
  return 'end';
}

/**
 * The decision machine of one agent: a small chart of the decisions its runs
 * meet (model turns, tool attempts, approvals), with one event per fault,
 * whose transitions follow the agent's own configuration: tools and their
 * side effects, retries, reconcile, approvals and the turn budget. Its state
 * graph is small (turn, tool, attempt); the paths through it are the paths
 * exploration runs.
 */
export const decisionMachine = setup({
  types: { context: {} as DecisionContext, events: {} as DecisionEvent, input: {} as DecisionInput },
  guards: {
    turnsSpent: ({ context }) => context.turn > context.maxTurns || context.turn > context.script.length,
    modelEnds: ({ context, event }) => event.type === 'MODEL' && (ENDING_MODEL_PICKS.has(event.pick) || context.script[context.turn - 1]!.call === null),
    callWaitsForApproval: ({ context }) => context.script[context.turn - 1]!.approval,
    approvalGoesOn: ({ event }) => event.type === 'APPROVAL' && (event.pick === 'approve' || event.pick === 'edit'),
    approvalReplans: ({ context, event }) => event.type === 'APPROVAL' && (event.pick === 'reject' || (event.pick === 'expire' && context.replanOnExpiry)),
    toolGoesOn: ({ context, event }) => event.type === 'TOOL' && toolFaultGoes(toolOf(context), event.pick, context.attempt) === 'on',
    toolTriesAgain: ({ context, event }) => event.type === 'TOOL' && toolFaultGoes(toolOf(context), event.pick, context.attempt) === 'again',
  },
  actions: {
    callTool: assign({ tool: ({ context }) => context.script[context.turn - 1]!.call, attempt: 1 }),
    nextTurn: assign({ turn: ({ context }) => context.turn + 1, tool: null, attempt: 0 }),
    nextAttempt: assign({ attempt: ({ context }) => context.attempt + 1 }),
  },
}).createMachine({
  id: 'decisions',
  context: ({ input }) => ({ ...input, turn: 1, tool: null, attempt: 0 }),
  initial: 'model',
  states: {
    model: {
      always: { guard: 'turnsSpent', target: 'ended' },
      on: {
        MODEL: [
          { guard: 'modelEnds', target: 'ended', },
          { guard: 'callWaitsForApproval', target: 'approval', actions: 'callTool' },
          { target: 'tool', actions: 'callTool' },
        ],
      },
    },
    approval: {
      on: {
        APPROVAL: [
          { guard: 'approvalGoesOn', target: 'tool', },
          { guard: 'approvalReplans', target: 'model', actions: 'nextTurn' },
          { target: 'ended', },
        ],
      },
    },
    tool: {
      on: {
        TOOL: [
          { guard: 'toolGoesOn', target: 'model', actions: 'nextTurn' },
          { guard: 'toolTriesAgain', target: 'tool', actions: 'nextAttempt' },
          { target: 'ended', },
        ],
      },
    },
    ended: { type: 'final' },
  },
});

type DecisionSnapshot = SnapshotFrom<typeof decisionMachine>;

/** The faults that make sense for a tool: in doubt only where there is a side effect to doubt. */
export function toolFaults(sideEffect: ToolPolicy['sideEffect'], faults: readonly string[]): string[] {
  return faults.filter((f) => f !== 'in-doubt' || sideEffect !== 'none');
}

/** The events offered in a state: every fault of its kind, the default first. */
function eventsOf(faults: DecisionFaults) {
  return (snapshot: DecisionSnapshot): DecisionEvent[] => {
    if (snapshot.status !== 'active') return [];
    const offered = (list: readonly string[]) => list.map((pick, i) => ({ pick, fault: i > 0 }));
    if (snapshot.value === 'approval') return offered(faults.approvals).map((p) => ({ type: 'APPROVAL', ...p }));
    if (snapshot.value === 'tool') return offered(toolFaults(toolOf(snapshot.context).sideEffect, faults.tools)).map((p) => ({ type: 'TOOL', ...p }));
    return offered(faults.model).map((p) => ({ type: 'MODEL', ...p }));
  };
}

const kindOf = { MODEL: 'model', TOOL: 'tool', APPROVAL: 'approval' } as const;

/**
 * The paths of one run's decision machine (its agent's configuration, what its model did on the default path), fewest faults first: its state
 * graph is built with xstate/graph (getAdjacencyMap: every state the agent's
 * configuration lets a run reach, and every fault from each), then walked
 * from the start to each final state taking at most `maxFaults` faults, all
 * within the first `depth` decisions.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function planPaths(agent: Agent<any>, run: string, script: readonly ScriptedTurn[], options: { faults: DecisionFaults; depth: number; maxFaults: number }): Plan[] {
  const spec = agent.spec;
  const input: DecisionInput = {
    run,
    tools: [...spec.tools].map(([name, p]) => ({ name, sideEffect: p.sideEffect, maxAttempts: p.retry.maxAttempts, reconcilable: p.reconcilable })),
    maxTurns: agent.limits.maxTurns ?? script.length,
    replanOnExpiry: spec.approval.onTimeout === 'replan',
    script,
  };
  const serializeState = (s: DecisionSnapshot) => `${String(s.value)}|${s.context.turn}|${s.context.tool}|${s.context.attempt}`;
  const graph = getAdjacencyMap(decisionMachine, { input, events: eventsOf(options.faults), serializeState });
  const plans: Plan[] = [];
  const walk = (key: string, steps: PlannedStep[], faults: number) => {
    const node = graph[key as keyof typeof graph]!;
    if (node.state.status === 'done') return void plans.push({ steps: [...steps], faults });
    for (const { event, state } of Object.values(node.transitions)) {
      if (event.fault && (faults >= options.maxFaults || steps.length >= options.depth)) continue;
      steps.push({ run, kind: kindOf[event.type], ...(event.type === 'TOOL' ? { tool: node.state.context.tool! } : {}), pick: event.pick });
      walk(serializeState(state), steps, faults + (event.fault ? 1 : 0));
      steps.pop();
    }
  };
  walk(serializeState(initialTransition(decisionMachine, input)[0]), [], 0);
  return plans.sort((a, b) => a.faults - b.faults);
}
