/**
 * Run trees: sub-runs started by a run's tools (see `subAgentTool`), with
 * budgets drawn from their parent's, read back per run from the store.
 */
import { combineUsage } from '../guards/cost.js';
import type { RunLimits } from '../guards/nested-budget.js';
import { ZERO_USAGE, type Usage } from '../guards/usage.js';
import type { AgentContext } from '../machines/agent-context.js';
import { TerminalOutcome } from '../machines/outcome.js';
import type { SnapshotStore } from '../persistence/store.js';

/** One run of a tree, with what it spent itself. */
export interface TreeNode {
  readonly runId: string;
  readonly agentId: string;
  readonly parentId: string | null;
  /** 0 for the root. */
  readonly depth: number;
  readonly status: string;
  readonly reason: string | null;
  /** The run's own usage (its children's are their own nodes). */
  readonly usage: Usage;
  /** The limits the run was started with (what its parent gave it), when its snapshot is stored. */
  readonly limits: RunLimits | null;
}

/** A run tree's spend: every run in it (root first, then breadth first), and the total. */
export interface TreeSpend {
  readonly nodes: readonly TreeNode[];
  readonly total: Usage;
}

/** Reads a run tree from the store, run by run, with each run's own spend. */
export async function treeSpend(store: SnapshotStore, rootRunId: string): Promise<TreeSpend> {
  const nodes: TreeNode[] = [];
  let level: Array<{ runId: string; depth: number }> = [{ runId: rootRunId, depth: 0 }];
  while (level.length > 0) {
    const next: typeof level = [];
    for (const { runId, depth } of level) {
      const record = await store.load(runId);
      if (!record) continue;
      const context = (record.snapshot as { context?: AgentContext } | null)?.context ?? null;
      const outcome = record.outcome ? TerminalOutcome.parse(record.outcome) : null;
      nodes.push({
        runId,
        agentId: record.summary.agentId,
        parentId: record.summary.parentId,
        depth,
        status: record.summary.status,
        reason: record.summary.reason,
        usage: outcome?.usage ?? context?.usage ?? ZERO_USAGE,
        limits: context?.limits ?? null,
      });
      const children = await store.list({ parentId: runId });
      children.sort((a, b) => a.createdAt - b.createdAt || (a.runId < b.runId ? -1 : 1));
      for (const child of children) next.push({ runId: child.runId, depth: depth + 1 });
    }
    level = next;
  }
  return { nodes, total: combineUsage(nodes.map((n) => n.usage)) };
}

/** The tree as lines an operator reads: one run a line, indented by depth, with its outcome and spend. */
export function formatTree(spend: TreeSpend): string {
  const cost = (u: Usage) => (u.costKnown ? `$${u.costUsd.toFixed(6)}` : `$${u.costUsd.toFixed(6)}+ (partly unpriced)`);
  const lines = spend.nodes.map(
    (n) => `${'  '.repeat(n.depth)}${n.runId}  ${n.agentId}  ${n.reason ?? n.status}  turns ${n.usage.turns}  tokens ${n.usage.inputTokens + n.usage.outputTokens}  ${cost(n.usage)}`,
  );
  lines.push(`total: ${spend.nodes.length} runs, turns ${spend.total.turns}, tokens ${spend.total.inputTokens + spend.total.outputTokens}, ${cost(spend.total)}`);
  return lines.join('\n');
}

/** A child's spend as its parent adds it: the child's own usage and its subtree's, and how many runs that is. */
export function spentBy(outcome: TerminalOutcome): { runs: number; usage: Usage } {
  const below = outcome.subtree;
  return { runs: 1 + (below?.runs ?? 0), usage: below ? combineUsage([outcome.usage, below.usage]) : outcome.usage };
}
