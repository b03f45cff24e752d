import type { StatsReport } from '../agents/stats.js';
import { computeStats } from '../agents/stats.js';
import type { RunSummary } from '../persistence/records.js';
import type { SnapshotStore } from '../persistence/store.js';
import { runView, type RunView } from '../cli/ops/runs.js';
import { listApprovals, type ApprovalItem } from '../cli/ops/approvals.js';
import type { QueueDepth } from '../agents/fleet/slice-queue.js';
import type { QueueDepthSource } from '../agents/telemetry/queue-gauge.js';

/** One message of the live feed; the page applies each as it comes. */
export type FeedEvent =
  | { readonly type: 'hello'; readonly runs: readonly RunView[]; readonly approvals: readonly ApprovalItem[]; readonly stats: StatsReport; readonly queue: QueueDepth | null }
  | { readonly type: 'run'; readonly run: RunView }
  | { readonly type: 'removed'; readonly runId: string }
  | { readonly type: 'approvals'; readonly approvals: readonly ApprovalItem[] }
  | { readonly type: 'stats'; readonly stats: StatsReport }
  /** The fleet's slice queue by state (only when the console watches a fleet). */
  | { readonly type: 'queue'; readonly queue: QueueDepth };

/** Runs the page gets on connect: the most recently updated ones. */
const HELLO_RUNS = 300;

const keyOf = (s: RunSummary) => `${s.updatedAt}|${s.status}|${s.state}|${s.step}|${s.reason}`;

/**
 * The store's changes as events: while anyone listens, the store's run index
 * is read every `pollMs` and each run whose summary changed is re-read and
 * sent. The browser only listens (server-sent events); the polling stays
 * here, where one loop serves every open page.
 */
export class StoreFeed {
  readonly #store: SnapshotStore;
  readonly #pollMs: number;
  readonly #listeners = new Set<(event: FeedEvent) => void>();
  readonly #keys = new Map<string, string>();
  readonly #views = new Map<string, RunView>();
  #summaries: RunSummary[] = [];
  #approvalsKey = '';
  #statsKey = '';
  readonly #queue: QueueDepthSource | null;
  #depth: QueueDepth | null = null;
  #timer: NodeJS.Timeout | null = null;
  #ticking: Promise<void> | null = null;
  #primed = false;

  /** `queue`: a fleet's slice queue, whose depth by state is read with every poll and sent when it changes. */
  constructor(store: SnapshotStore, options: { pollMs?: number; queue?: QueueDepthSource } = {}) {
    this.#store = store;
    this.#pollMs = options.pollMs ?? 300;
    this.#queue = options.queue ?? null;
  }

  /** The current runs (newest first), approvals and stats: what a new listener gets first, and what the page is rendered with. */
  async hello(): Promise<Extract<FeedEvent, { type: 'hello' }>> {
    await this.#tick();
    const newest = this.#summaries.slice(0, HELLO_RUNS).map((s) => this.#views.get(s.runId)).filter((v): v is RunView => v !== undefined);
    return { type: 'hello', runs: newest, approvals: await listApprovals(this.#store), stats: computeStats(this.#summaries), queue: this.#depth };
  }

  /** Adds a listener, which first gets a `hello` with the current runs, approvals and stats; returns the unsubscribe. */
  async subscribe(listener: (event: FeedEvent) => void): Promise<() => void> {
    listener(await this.hello());
    this.#listeners.add(listener);
    if (!this.#timer) this.#timer = setInterval(() => void this.#tick(), this.#pollMs);
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0 && this.#timer) {
        clearInterval(this.#timer);
        this.#timer = null;
      }
    };
  }

  /** Re-reads the index now (after a command, so that its effect shows without waiting for the next poll). */
  poke(): void {
    void this.#tick();
  }

  /** Stops polling. */
  close(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    this.#listeners.clear();
  }

  #tick(): Promise<void> {
    // One read at a time: a slow store must not pile up overlapping polls.
    this.#ticking ??= this.#poll().finally(() => (this.#ticking = null));
    return this.#ticking;
  }

  async #poll(): Promise<void> {
    await this.#pollQueue();
    let summaries: RunSummary[];
    try {
      summaries = await this.#store.list();
    } catch {
      return; // The store is away; the next tick tries again, and the page keeps what it has.
    }
    const now = Date.now();
    const changed = summaries.filter((s) => this.#keys.get(s.runId) !== keyOf(s));
    const present = new Set(summaries.map((s) => s.runId));
    const removed = [...this.#keys.keys()].filter((id) => !present.has(id));
    // The first poll only builds views for the runs a page is shown; the rest are built when they change.
    const toLoad = this.#primed ? changed : changed.slice(0, HELLO_RUNS);
    for (let i = 0; i < toLoad.length; i += 16) {
      await Promise.all(
        toLoad.slice(i, i + 16).map(async (s) => {
          const [record, lease] = await Promise.all([this.#store.load(s.runId).catch(() => null), s.status === 'done' ? null : this.#store.readLease(s.runId).catch(() => null)]);
          const owner = lease && lease.expiresAt > now ? lease.owner : null;
          this.#views.set(s.runId, runView(record?.summary ?? s, record, owner, now));
        }),
      );
    }
    for (const s of changed) this.#keys.set(s.runId, keyOf(s));
    for (const id of removed) {
      this.#keys.delete(id);
      this.#views.delete(id);
    }
    this.#summaries = summaries;
    const approvalsKey = summaries.filter((s) => s.status === 'running' && s.state === 'awaitingApproval').map((s) => s.runId).sort().join(',');
    const statsKey = summaries.map((s) => `${s.runId}:${s.status}:${s.reason}`).join(',');
    const firstPoll = !this.#primed;
    this.#primed = true;
    if (firstPoll || this.#listeners.size === 0) {
      this.#approvalsKey = approvalsKey;
      this.#statsKey = statsKey;
      return;
    }
    for (const s of toLoad) this.#emit({ type: 'run', run: this.#views.get(s.runId)! });
    for (const runId of removed) this.#emit({ type: 'removed', runId });
    if (changed.length === 0 && removed.length === 0) return;
    if (approvalsKey !== this.#approvalsKey || changed.some((s) => s.state === 'awaitingApproval')) {
      this.#approvalsKey = approvalsKey;
      this.#emit({ type: 'approvals', approvals: await listApprovals(this.#store).catch(() => []) });
    }
    if (statsKey !== this.#statsKey) {
      this.#statsKey = statsKey;
      this.#emit({ type: 'stats', stats: computeStats(summaries) });
    }
  }

  /** Reads the queue's depth; sends it when it changed (not on the first read, which a listener gets in its hello). */
  async #pollQueue(): Promise<void> {
    if (!this.#queue) return;
    const depth = await this.#queue.depth().catch(() => null);
    if (depth === null) return; // Unreadable now: the page keeps the last depth it was sent.
    const changed = this.#depth !== null && JSON.stringify(depth) !== JSON.stringify(this.#depth);
    this.#depth = depth;
    if (changed && this.#primed) this.#emit({ type: 'queue', queue: depth });
  }

  #emit(event: FeedEvent): void {
    for (const listener of this.#listeners) listener(event);
  }
}
