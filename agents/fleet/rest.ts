import { AgentRun } from '../agent-run.js';
import type { HostedRun } from '../agent-run.js';

/** Why a run can leave its worker: nothing happens until a decision, a resume, a child's end, or its due time. */
export interface RestingPoint {
  readonly why: 'approval' | 'backoff' | 'rate-limit' | 'paused' | 'children';
  /** When the run must be hosted again even if nothing wakes it (its timer); null: only a command wakes it. */
  readonly dueAt: number | null;
  /** Resting on children: the child runs it waits on (each one's end wakes it). */
  readonly children?: readonly string[];
}

/** The due times a run's waiting states keep in context (XState does not persist its delayed events: reins keeps them). */
interface WaitingContext {
  readonly deadlineAt: number | null;
  readonly retryAt: number | null;
  readonly approvalDueAt: number | null;
  readonly rateRetryAt: number | null;
}

/** The waiting states of the agent lifecycle, with the timer that ends each. */
const WAITS: Record<string, { why: RestingPoint['why']; due: (c: WaitingContext) => number | null }> = {
  awaitingApproval: { why: 'approval', due: (c) => c.approvalDueAt },
  backingOff: { why: 'backoff', due: (c) => c.retryAt },
  rateWaiting: { why: 'rate-limit', due: (c) => c.rateRetryAt },
};

/**
 * Where a hosted run can leave its worker, or null while it has work to do.
 * A paused run of any kind rests until resumed. An agent run rests while it
 * waits for an approval, a backoff or a rate-limit retry that is due at least
 * `minRestMs` from now (a shorter wait costs less hosted than a round trip
 * through the queue); it is woken by then at the earliest of that time and
 * its deadline. A run of any kind whose only work in flight is waiting on
 * child runs hosted elsewhere (`waitingOn`, from its ChildScope) rests until
 * one of them ends, or its deadline.
 */
export function restingPoint(run: HostedRun, now: number, minRestMs: number, waitingOn: readonly string[] | null = null): RestingPoint | null {
  const status = run.status();
  if (status.status === 'done') return null;
  if (status.status === 'paused') return { why: 'paused', dueAt: null };
  if (waitingOn) {
    const { deadlineAt } = (run.actor.getSnapshot() as { context: Pick<WaitingContext, 'deadlineAt'> }).context;
    return { why: 'children', dueAt: deadlineAt, children: waitingOn };
  }
  if (!(run instanceof AgentRun)) return null;
  const wait = WAITS[status.state];
  if (!wait) return null;
  const context = (run.actor.getSnapshot() as { context: WaitingContext }).context;
  const due = [wait.due(context), context.deadlineAt].filter((t): t is number => t !== null);
  const dueAt = due.length > 0 ? Math.min(...due) : null;
  if (dueAt !== null && dueAt - now < minRestMs) return null;
  return { why: wait.why, dueAt };
}

/** Where a run past its slice limit can be cut: it is about to ask its model (no tool call in flight, everything before it durable next). */
export function atCutPoint(run: HostedRun): boolean {
  return run instanceof AgentRun && run.status().state === 'planning';
}
