/**
 * The approval queue as the CLI and the console see it. For now an item is a
 * run waiting in `awaitingApproval` (item id = run id), read from the store's
 * run index and the stored snapshot; a durable queue with priorities will
 * replace this module's insides, not its callers.
 */
import type { SnapshotStore } from '../../persistence/store.js';
import { listRuns, type RunView } from './runs.js';

/** One call waiting for a human. */
export interface ApprovalItem {
  /** What `reins approve <item>` takes. */
  readonly itemId: string;
  readonly runId: string;
  readonly agentId: string;
  readonly tool: string;
  /** The call's arguments with secrets redacted. */
  readonly arguments: unknown;
  readonly step: number;
  /** When the run started waiting (its last stored transition). */
  readonly since: number;
  /** When the wait ends (escalate or re-plan), or null. */
  readonly dueAt: number | null;
  /** The worker that holds the run, or null when nobody hosts it. */
  readonly owner: string | null;
}

function itemOf(run: RunView): ApprovalItem | null {
  if (run.status !== 'awaiting-approval' || !run.pendingApproval) return null;
  return {
    itemId: run.runId,
    runId: run.runId,
    agentId: run.agentId,
    tool: run.pendingApproval.tool,
    arguments: run.pendingApproval.arguments,
    step: run.step,
    since: run.updatedAt,
    dueAt: run.pendingApproval.dueAt,
    owner: run.owner,
  };
}

/** Pending items, the ones due soonest first. */
export async function listApprovals(store: SnapshotStore, now = Date.now()): Promise<ApprovalItem[]> {
  const { runs } = await listRuns(store, { status: 'awaiting-approval' }, now);
  return runs
    .map(itemOf)
    .filter((i): i is ApprovalItem => i !== null)
    .sort((a, b) => (a.dueAt ?? Infinity) - (b.dueAt ?? Infinity) || a.since - b.since);
}

/** The run an item decides: approving item `id` approves run `id`'s pending call. */
export function runOfItem(itemId: string): string {
  return itemId;
}
