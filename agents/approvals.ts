/**
 * The human approval queue: calls that wait for an operator, as durable items
 * in the store (run, agent, tool, redacted arguments, requested-at, priority,
 * deadline), decided once and never after their deadline.
 *
 * The store's decision is the source of truth; events are only its delivery.
 * The `approvalQueue` observer, registered with every Supervisor that hosts
 * runs with approval tools, puts an item when a run starts waiting, delivers a
 * decided item to the run (at once when the decision is taken in the process
 * that hosts the run, else by polling its waiting runs' items), and closes the
 * item when the run stops waiting another way (deadline: expired; kill or
 * timeout: cancelled). Every delivered decision names its item, so a late one
 * can never approve a later request of the same run.
 */
import type { z } from 'zod';
import { approvalItemId, stateName } from '../machines/agent-machine.js';
import type { AgentContext, AgentEvent } from '../machines/agent-context.js';
import { checkToolCall } from '../guards/validate.js';
import { ApprovalExpiredError, ApprovalNotPendingError, UnknownApprovalError } from '../persistence/errors.js';
import type { ApprovalDecision, ApprovalItem } from '../persistence/records.js';
import type { SnapshotStore } from '../persistence/store.js';
import type { AgentRun } from './agent-run.js';
import type { Agent } from './define-agent.js';
import { ReinsError, RunNotFoundError } from './errors.js';
import { createLogger, type Logger } from './logger.js';
import type { RunObserver } from './observer.js';
import { DEFAULT_SECRET_KEYS, redact } from './redact.js';
import { RunEndedError, type Supervisor } from './supervisor.js';

type Json = z.core.util.JSONType;
// Agents of any input type share one queue.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyAgent = Agent<any>;

/** The marker redaction leaves in listed arguments. */
const REDACTED = '[redacted]';

/** Edited arguments that the tool's schema refuses: nothing is decided and nothing is sent. */
export class InvalidEditError extends ReinsError {
  readonly hint: string;
  constructor(itemId: string, hint: string) {
    super('invalid-edit', `edited arguments for approval ${itemId} are invalid: ${hint}`);
    this.hint = hint;
  }
}

/** A pending item as operators list it: how long it has waited and how long is left. */
export interface ListedApproval extends ApprovalItem {
  readonly ageMs: number;
  readonly dueInMs: number;
}

/** How a decision reached its run: here at once, by the worker that owns the run, or when a paused run is resumed. */
export type Delivery = 'delivered' | 'by-owner' | 'on-resume';

export interface ApprovalQueueOptions {
  readonly store: SnapshotStore;
  /** The agents whose runs wait here: their tools' priorities and schemas, and their redaction keys. */
  readonly agents: readonly AnyAgent[];
  /** How often a decision taken in another process is looked for, for runs waiting here (default 500 ms). */
  readonly pollMs?: number;
  readonly logger?: Logger;
  readonly now?: () => number;
}

/** What `approve` and `reject` need: the store, the supervisor that delivers, and (to check edits before deciding) the agents. */
export interface DecideOptions {
  readonly store: SnapshotStore;
  readonly supervisor: Supervisor;
  readonly agents?: readonly AnyAgent[];
  readonly now?: () => number;
}

/** The approval queue: the observer to register with Supervisor.open, and the operator's list / approve / reject. */
export interface ApprovalQueue {
  readonly observer: RunObserver;
  /** Pending items still approvable, most urgent first (highest priority, then oldest), with their age. */
  list(options?: { limit?: number; includeStale?: boolean }): Promise<ListedApproval[]>;
  /** Approves an item, with edited arguments or as requested; see `approveItem`. */
  approve(supervisor: Supervisor, itemId: string, by: string, options?: { arguments?: Json }): Promise<{ item: ApprovalItem; delivery: Delivery }>;
  /** Rejects an item; the model re-plans with the feedback. */
  reject(supervisor: Supervisor, itemId: string, by: string, feedback: string): Promise<{ item: ApprovalItem; delivery: Delivery }>;
  /** Resolves once every queue write started so far has been made (tests, shutdown). */
  idle(): Promise<void>;
  /** Stops polling. */
  close(): void;
}

/** The waiting call of a run, from its context: the item it is, or null when it waits for nothing. */
function waitingItem(context: AgentContext): string | null {
  if (context.outcome !== null || context.approvalDueAt === null || context.current === null) return null;
  return approvalItemId(context);
}

/**
 * Puts back the values redaction hid: where the operator's edit still says
 * "[redacted]", the run's own value at that path is kept, so that editing a
 * listed item never sends the marker in place of a secret.
 */
export function unredact(edited: Json, original: Json): Json {
  if (edited === REDACTED) return original;
  if (Array.isArray(edited)) return edited.map((v, i) => unredact(v, Array.isArray(original) ? (original[i] ?? null) : null));
  if (edited !== null && typeof edited === 'object') {
    const source = original !== null && typeof original === 'object' && !Array.isArray(original) ? original : {};
    const out: Record<string, Json> = {};
    for (const [k, v] of Object.entries(edited)) out[k] = v === REDACTED && Object.hasOwn(source, k) ? (source[k] ?? null) : unredact(v, (source[k] ?? null) as Json);
    return out;
  }
  return edited;
}

/** The scoped event that delivers a decided item to its run. */
function eventFor(item: ApprovalItem, original: Json | null): AgentEvent | null {
  const d = item.decision;
  if (!d) return null;
  if (d.status === 'approved') {
    return d.editedArguments === null
      ? { type: 'APPROVE', by: d.by, item: item.itemId }
      : { type: 'APPROVE', by: d.by, item: item.itemId, arguments: unredact(d.editedArguments, original ?? null) };
  }
  if (d.status === 'rejected') return { type: 'REJECT', by: d.by, feedback: d.feedback ?? '', item: item.itemId };
  return null;
}

/** Builds the approval queue over a store. */
export function approvalQueue(options: ApprovalQueueOptions): ApprovalQueue {
  const { store } = options;
  const agents = new Map(options.agents.map((a) => [a.id, a]));
  const now = options.now ?? Date.now;
  const logger = options.logger ?? createLogger();
  /** Items this process's runs wait on: run id -> item id. */
  const waiting = new Map<string, { itemId: string; run: AgentRun }>();
  /** One write chain per run, so that an item is put before it is closed. */
  const chains = new Map<string, Promise<void>>();
  const all = new Set<Promise<void>>();

  const enqueue = (runId: string, work: () => Promise<void>) => {
    const next = (chains.get(runId) ?? Promise.resolve())
      .then(work)
      .catch((error: unknown) => logger.warn({ runId, err: (error as Error).message }, 'approval queue write failed'));
    chains.set(runId, next);
    all.add(next);
    void next.finally(() => {
      all.delete(next);
      if (chains.get(runId) === next) chains.delete(runId);
    });
  };

  const itemFrom = (run: AgentRun, context: AgentContext): ApprovalItem => {
    const agent = agents.get(run.agentId);
    const c = context.current!;
    const def = agent?.tools.get(c.call.name);
    return {
      itemId: approvalItemId(context),
      runId: run.runId,
      agentId: run.agentId,
      tool: c.call.name,
      callId: c.call.id,
      arguments: redact(c.input, agent?.secretKeys ?? DEFAULT_SECRET_KEYS) as Json,
      priority: def?.approval?.priority ?? 0,
      requestedAt: context.approvalRequestedAt ?? now(),
      deadlineAt: context.approvalDueAt!,
      status: 'pending',
      decision: null,
    };
  };

  /** A decision taken while the run was not listening (paused, another process, a restore): deliver it now. */
  const reconcile = async (run: AgentRun, itemId: string) => {
    const item = await store.approvalGet(itemId);
    const context = run.actor.getSnapshot().context;
    if (!item || item.status === 'pending' || waitingItem(context) !== itemId) return;
    if (stateName(run.actor.getSnapshot().value) !== 'awaitingApproval') return;
    const event = eventFor(item, context.current?.input ?? null);
    if (event) run.send(event);
  };

  /** How the run stopped waiting on `itemId`, read when it did: its decision, or cancelled when the run ended; null while it still might. */
  const closingDecision = (run: AgentRun, itemId: string): ApprovalDecision | null => {
    const context = run.actor.getSnapshot().context;
    const last = context.lastApproval?.item === itemId ? context.lastApproval : null;
    if (last) {
      const edit = last.edited && context.current ? (redact(context.current.input, agents.get(run.agentId)?.secretKeys ?? DEFAULT_SECRET_KEYS) as Json) : null;
      return { status: last.status, by: last.by, at: last.at, feedback: last.feedback, editedArguments: edit };
    }
    const outcome = context.outcome;
    if (!outcome) return null;
    return { status: 'cancelled', by: outcome.reason === 'USER_KILLED' ? outcome.by : 'reins', at: outcome.endedAt, feedback: `the run ended ${outcome.reason}`, editedArguments: null };
  };

  /** Records how the run stopped waiting, unless an operator's decision is already there; and puts it in the run's trace. */
  const close = async (runId: string, itemId: string, decision: ApprovalDecision) => {
    try {
      await store.approvalDecide(itemId, decision);
    } catch (error) {
      if (error instanceof ApprovalExpiredError) {
        // The run took the decision a moment after the store's clock passed the deadline: what it did was expire.
        await store.approvalDecide(itemId, { ...decision, status: 'expired' }).catch(() => undefined);
      } else if (!(error instanceof ApprovalNotPendingError || error instanceof UnknownApprovalError)) {
        throw error;
      }
    }
    await store.traceAppend(runId, [{ at: now(), kind: 'approval', item: itemId, status: decision.status, by: decision.by, edited: decision.editedArguments !== null }]);
  };

  /** Brings the queue in line with where the run is now. */
  const track = (run: AgentRun) => {
    const snapshot = run.actor.getSnapshot();
    const context = snapshot.context;
    const state = stateName(snapshot.value);
    const itemId = state === 'awaitingApproval' || state === 'paused' ? waitingItem(context) : null;
    const previous = waiting.get(run.runId);
    if (previous && previous.itemId !== itemId) {
      waiting.delete(run.runId);
      const decision = closingDecision(run, previous.itemId);
      if (decision) enqueue(run.runId, () => close(run.runId, previous.itemId, decision));
    }
    if (itemId && previous?.itemId !== itemId) {
      waiting.set(run.runId, { itemId, run });
      const item = itemFrom(run, context);
      enqueue(run.runId, () => store.approvalPut(item));
    }
    if (itemId && state === 'awaitingApproval') enqueue(run.runId, () => reconcile(run, itemId));
  };

  const poll = setInterval(() => {
    for (const { itemId, run } of waiting.values()) {
      if (stateName(run.actor.getSnapshot().value) === 'awaitingApproval') enqueue(run.runId, () => reconcile(run, itemId));
    }
  }, options.pollMs ?? 500);
  poll.unref();

  const observer: RunObserver = {
    onRunStart: (run) => track(run),
    onTransition: (run) => track(run),
    onOutcome: (run) => track(run),
  };

  return {
    observer,
    list: (o = {}) => listApprovals(store, { ...o, now: now() }),
    approve: (supervisor, itemId, by, o = {}) => approveItem({ store, supervisor, agents: options.agents, now }, itemId, by, o),
    reject: (supervisor, itemId, by, feedback) => rejectItem({ store, supervisor, agents: options.agents, now }, itemId, by, feedback),
    idle: async () => {
      while (all.size > 0) await Promise.all([...all]);
    },
    close: () => clearInterval(poll),
  };
}

/** Pending items still approvable (deadline ahead), most urgent first, with their age; `includeStale` adds the overdue ones. */
export async function listApprovals(store: SnapshotStore, options: { now?: number; limit?: number; includeStale?: boolean } = {}): Promise<ListedApproval[]> {
  const at = options.now ?? Date.now();
  const items = await store.approvalList({ status: 'pending' });
  return items
    .filter((i) => options.includeStale || i.deadlineAt > at)
    .slice(0, options.limit)
    .map((i) => ({ ...i, ageMs: at - i.requestedAt, dueInMs: i.deadlineAt - at }));
}

/** The store's status of the item's run. */
async function runStatus(store: SnapshotStore, runId: string): Promise<string> {
  const record = await store.load(runId);
  if (!record) throw new RunNotFoundError(runId);
  return record.summary.status;
}

/** Whether an edit still holds redaction markers, which the run's own values must replace. */
function hasMarkers(value: Json): boolean {
  if (value === REDACTED) return true;
  if (Array.isArray(value)) return value.some(hasMarkers);
  return value !== null && typeof value === 'object' && Object.values(value).some((v) => hasMarkers(v ?? null));
}

/**
 * The call's input as the run holds it (unredacted): from the run when it is
 * hosted here, else from its stored snapshot, which may lag the item by a
 * write (the queue learns of the request at the transition, the snapshot is
 * saved just after).
 */
async function originalInput(o: DecideOptions, item: ApprovalItem): Promise<Json> {
  const deadline = Date.now() + 2_000;
  for (;;) {
    const local = o.supervisor.get(item.runId)?.actor.getSnapshot().context as AgentContext | undefined;
    const context = local ?? ((await o.store.load(item.runId))?.snapshot as { context?: AgentContext } | null)?.context;
    if (context?.current && approvalItemId(context) === item.itemId) return context.current.input;
    if (Date.now() > deadline) throw new InvalidEditError(item.itemId, 'the run no longer holds this call, so the values redaction hid cannot be filled in; send them in full');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/**
 * Approves a pending item, as requested or with edited arguments. The
 * decision is recorded first (compare-and-set in the store: an item already
 * decided, or past its deadline, is refused with ApprovalNotPendingError /
 * ApprovalExpiredError and nothing is sent), then delivered to the run.
 * Edits: values still "[redacted]" keep the run's own; the edit is checked
 * against the tool's schema (the agent must be in `agents`) before anything
 * is decided (InvalidEditError, nothing recorded). The run checks it again
 * and does not run an invalid one (the model is told why, as for a
 * rejection). The item stores the edit redacted.
 */
export async function approveItem(o: DecideOptions, itemId: string, by: string, options: { arguments?: Json } = {}): Promise<{ item: ApprovalItem; delivery: Delivery }> {
  const item = await pendingItem(o, itemId);
  let edited: Json | null = null;
  if (options.arguments !== undefined) {
    edited = hasMarkers(options.arguments) ? unredact(options.arguments, await originalInput(o, item)) : options.arguments;
    // Only an edit the tool's schema accepts is recorded as approved: the record never says approved for a call that did not run.
    const agent = o.agents?.find((a) => a.id === item.agentId);
    if (!agent) throw new InvalidEditError(itemId, `agent ${item.agentId} is not known here, so the edit cannot be checked; pass its definition in \`agents\``);
    const checked = checkToolCall(agent.tools, item.tool, JSON.stringify(edited), agent.spec.maxArgumentBytes);
    if (!checked.ok) throw new InvalidEditError(itemId, checked.hint);
    edited = checked.value as Json;
  }
  const secretKeys = o.agents?.find((a) => a.id === item.agentId)?.secretKeys ?? DEFAULT_SECRET_KEYS;
  const decided = await decide(o, item, { status: 'approved', by, at: (o.now ?? Date.now)(), feedback: null, editedArguments: edited === null ? null : (redact(edited, secretKeys) as Json) });
  const event: AgentEvent = edited === null ? { type: 'APPROVE', by, item: itemId } : { type: 'APPROVE', by, item: itemId, arguments: edited };
  return { item: decided, delivery: await deliver(o, decided, event) };
}

/** Rejects a pending item with feedback for the model, which re-plans with it; recorded first, then delivered (see `approve`). */
export async function rejectItem(o: DecideOptions, itemId: string, by: string, feedback: string): Promise<{ item: ApprovalItem; delivery: Delivery }> {
  const item = await pendingItem(o, itemId);
  const decided = await decide(o, item, { status: 'rejected', by, at: (o.now ?? Date.now)(), feedback, editedArguments: null });
  return { item: decided, delivery: await deliver(o, decided, { type: 'REJECT', by, feedback, item: itemId }) };
}

/** The item, refused early when it is unknown or its run has ended (then it is closed as cancelled). */
async function pendingItem(o: DecideOptions, itemId: string): Promise<ApprovalItem> {
  const item = await o.store.approvalGet(itemId);
  if (!item) throw new UnknownApprovalError(itemId);
  const record = await o.store.load(item.runId);
  if (!record || record.summary.status === 'done') {
    if (item.status === 'pending') {
      await o.store
        .approvalDecide(itemId, { status: 'cancelled', by: 'reins', at: (o.now ?? Date.now)(), feedback: 'the run had ended', editedArguments: null })
        .catch(() => undefined);
    }
    if (!record) throw new RunNotFoundError(item.runId);
    throw new RunEndedError(item.runId, record.summary.reason);
  }
  return item;
}

/** Records the decision; an item past its deadline is closed as expired on the way out. */
async function decide(o: DecideOptions, item: ApprovalItem, decision: ApprovalDecision): Promise<ApprovalItem> {
  try {
    return await o.store.approvalDecide(item.itemId, decision);
  } catch (error) {
    if (error instanceof ApprovalExpiredError) {
      await o.store.approvalDecide(item.itemId, { status: 'expired', by: 'reins', at: decision.at, feedback: null, editedArguments: null }).catch(() => undefined);
    }
    throw error;
  }
}

/**
 * Delivers a recorded decision: to the run at once when this process hosts it
 * or can take it over (nobody else owns it); when another worker owns it, its
 * approval queue delivers it from the store; a paused run takes it when
 * resumed. Scoped to the item, so a repeated delivery is harmless.
 */
async function deliver(o: DecideOptions, item: ApprovalItem, event: AgentEvent): Promise<Delivery> {
  let run = o.supervisor.get(item.runId);
  if (!run) {
    if ((await runStatus(o.store, item.runId)) === 'paused') return 'on-resume';
    const lease = await o.store.readLease(item.runId);
    if (lease && lease.owner !== o.supervisor.workerId && lease.expiresAt > Date.now()) return 'by-owner';
    // Nobody owns the run: host it here. RESUME leaves a run that is not paused where it is.
    run = (await o.supervisor.resume(item.runId, event.type === 'APPROVE' || event.type === 'REJECT' ? event.by : 'reins')) ?? undefined;
    if (!run) return 'by-owner';
  }
  if (run.status().state === 'paused') return 'on-resume';
  run.send(event);
  return 'delivered';
}
