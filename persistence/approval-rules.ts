import { ApprovalExpiredError, ApprovalNotPendingError } from './errors.js';
import type { ApprovalDecision, ApprovalItem } from './records.js';

/** Most urgent first: highest priority, then the oldest request, then the id (stable). */
export function approvalOrder(a: ApprovalItem, b: ApprovalItem): number {
  return b.priority - a.priority || a.requestedAt - b.requestedAt || (a.itemId < b.itemId ? -1 : a.itemId > b.itemId ? 1 : 0);
}

/**
 * The decided item, or the typed reason the decision is refused: only a
 * pending item can be decided, and an approve or reject after the deadline
 * would act on a stale request (expiring or cancelling it is always allowed).
 */
export function checkDecision(item: ApprovalItem, decision: ApprovalDecision): ApprovalItem {
  if (item.status !== 'pending') throw new ApprovalNotPendingError(item.itemId, item.status);
  if ((decision.status === 'approved' || decision.status === 'rejected') && decision.at > item.deadlineAt) {
    throw new ApprovalExpiredError(item.itemId, item.deadlineAt);
  }
  return { ...item, status: decision.status, decision };
}
