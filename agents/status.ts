import type { BudgetName } from '../guards/budget.js';
import type { Usage } from '../guards/usage.js';
import type { AgentContext } from '../machines/agent-context.js';
import type { TerminalOutcome } from '../machines/outcome.js';

/** One transition as operators read it. */
export interface Transition {
  readonly at: number;
  readonly from: string;
  readonly to: string;
  readonly event: string;
}

/** How much of one budget is spent; `share` in [0, 1+] drives the bars in `reins ps`. */
export interface BudgetUse {
  readonly budget: BudgetName | 'wallClockMs';
  readonly used: number;
  readonly limit: number;
  readonly share: number;
}

/** What a run is doing now: the answer to "what is it doing, can I pause it, why did it stop". */
export interface RunStatus {
  readonly runId: string;
  readonly agentId: string;
  readonly status: 'running' | 'paused' | 'awaiting-approval' | 'done';
  readonly state: string;
  readonly step: number;
  readonly turns: number;
  readonly activeTool: string | null;
  readonly usage: Usage;
  readonly budgets: readonly BudgetUse[];
  readonly pendingApproval: { readonly tool: string; readonly arguments: unknown; readonly dueAt: number | null } | null;
  readonly paused: { readonly by: string; readonly why: string; readonly at: number } | null;
  readonly pauseRequested: boolean;
  readonly outcome: TerminalOutcome | null;
  readonly recent: readonly Transition[];
  readonly startedAt: number;
}

const LIMIT_OF: ReadonlyArray<[BudgetName, keyof AgentContext['limits'], (u: Usage) => number]> = [
  ['turns', 'maxTurns', (u) => u.turns],
  ['inputTokens', 'maxInputTokens', (u) => u.inputTokens],
  ['outputTokens', 'maxOutputTokens', (u) => u.outputTokens],
  ['totalTokens', 'maxTotalTokens', (u) => u.inputTokens + u.outputTokens],
  ['costUsd', 'maxCostUsd', (u) => u.costUsd],
];

/** The budgets that have a limit, with their spend. */
export function budgetUses(context: AgentContext, now: number): BudgetUse[] {
  const uses: BudgetUse[] = [];
  for (const [budget, key, used] of LIMIT_OF) {
    const limit = context.limits[key];
    if (limit !== undefined) uses.push({ budget, used: used(context.usage), limit, share: used(context.usage) / limit });
  }
  if (context.deadlineAt !== null) {
    const limit = context.deadlineAt - context.startedAt;
    const elapsed = (context.outcome?.endedAt ?? now) - context.startedAt;
    uses.push({ budget: 'wallClockMs', used: elapsed, limit, share: elapsed / limit });
  }
  return uses;
}

/** Derives the live status from a snapshot's state name and context. */
export function statusOf(
  state: string,
  context: AgentContext,
  recent: readonly Transition[],
  now: number,
  redactArgs: (value: unknown) => unknown,
): RunStatus {
  const awaiting = state === 'awaitingApproval';
  return {
    runId: context.runId,
    agentId: context.agentId,
    status: context.outcome ? 'done' : state === 'paused' ? 'paused' : awaiting ? 'awaiting-approval' : 'running',
    state,
    step: context.step,
    turns: context.usage.turns,
    activeTool: state === 'acting' || state === 'reconciling' || state === 'backingOff' || awaiting ? context.current?.call.name ?? null : null,
    usage: context.usage,
    budgets: budgetUses(context, now),
    pendingApproval:
      awaiting && context.current
        ? { tool: context.current.call.name, arguments: redactArgs(context.current.input), dueAt: context.approvalDueAt }
        : null,
    paused: context.paused,
    pauseRequested: context.pauseRequest !== null,
    outcome: context.outcome,
    recent,
    startedAt: context.startedAt,
  };
}
