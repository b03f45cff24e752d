/**
 * Run trees: sub-runs started by a run's tools (see `subAgentTool`), their
 * budgets drawn from their parent's, and the tree's spend per run.
 *
 * A `RunTree` is where sub-agent tools get the Supervisor that hosts their
 * children (attach it once the Supervisor is open) and, as a RunObserver,
 * ends a parent's unfinished children when the parent ends.
 */
import { combineUsage } from '../guards/cost.js';
import type { RunLimits } from '../guards/nested-budget.js';
import { ZERO_USAGE, type Usage } from '../guards/usage.js';
import type { AgentContext } from '../machines/agent-context.js';
import { TerminalOutcome } from '../machines/outcome.js';
import { RunExistsError } from '../persistence/errors.js';
import type { SnapshotStore } from '../persistence/store.js';
import type { AgentRun } from './agent-run.js';
import type { Agent } from './define-agent.js';
import { createLogger, type Logger } from './logger.js';
import type { RunObserver } from './observer.js';
import type { Supervisor } from './supervisor.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyAgent = Agent<any>;

/** How often a child hosted by another worker is looked at while its parent waits for it. */
const REMOTE_POLL_MS = 100;

/** Starts (or re-attaches to) one child run and waits for its outcome. */
export interface SubRunRequest {
  readonly agent: AnyAgent;
  readonly runId: string;
  readonly parentId: string;
  readonly input: unknown;
  readonly limits: RunLimits;
  readonly signal: AbortSignal;
}

/**
 * Hosts sub-runs. Attached to a Supervisor, children are durable runs on its
 * store (parentId set, so `store.list({ parentId })` lists them), and a
 * restored parent re-attaches to the child it had started instead of starting
 * another. Without one, children run in this process (not durable).
 */
export class RunTree {
  #supervisor: Supervisor | null = null;
  readonly #local = new Map<string, AgentRun>();
  readonly #logger: Logger;

  constructor(options: { logger?: Logger } = {}) {
    this.#logger = options.logger ?? createLogger();
  }

  /** Hosts children on this Supervisor from now on; returns this. */
  attach(supervisor: Supervisor): this {
    this.#supervisor = supervisor;
    return this;
  }

  /** The attached Supervisor, if any. */
  get supervisor(): Supervisor | null {
    return this.#supervisor;
  }

  /** Ends the unfinished children of a run that ended (they would spend for a parent no longer waiting), all levels down. */
  readonly observer: RunObserver = {
    onOutcome: (run, outcome) => {
      const supervisor = this.#supervisor;
      if (!supervisor) return;
      void (async () => {
        for (const child of await supervisor.store.list({ parentId: run.runId })) {
          if (child.status === 'done' || child.status === 'quarantined') continue;
          // One that ended meanwhile refuses the kill; the others still get it.
          await supervisor.kill(child.runId, 'reins', `its parent ${run.runId} ended ${outcome.reason}`).catch(() => undefined);
        }
      })().catch((error: unknown) => this.#logger.warn({ runId: run.runId, err: (error as Error).message }, 'could not end the children of a run'));
    },
  };

  /** Starts the child, or re-attaches to it when a run with its id exists, and resolves with its outcome. */
  async run(request: SubRunRequest): Promise<TerminalOutcome> {
    const supervisor = this.#supervisor;
    if (!supervisor) return this.#runLocal(request);
    let run = supervisor.get(request.runId);
    if (!run) {
      try {
        run = await supervisor.start(request.agent.id, { input: request.input, runId: request.runId, parentId: request.parentId, limits: request.limits });
      } catch (error) {
        if (!(error instanceof RunExistsError)) throw error;
        return this.#attach(supervisor, request);
      }
    }
    return abortable(run.outcome, request.signal);
  }

  /** A child that exists already: its stored outcome, its local handle, or (hosted elsewhere) its record polled until it ends. */
  async #attach(supervisor: Supervisor, request: SubRunRequest): Promise<TerminalOutcome> {
    const { runId, signal } = request;
    for (;;) {
      const record = await supervisor.store.load(runId);
      if (record?.summary.status === 'done' && record.outcome) return TerminalOutcome.parse(record.outcome);
      const local = supervisor.get(runId);
      if (local) return abortable(local.outcome, signal);
      if (record && record.summary.status === 'running') {
        // Nobody live owns it (its worker died with the parent's): host it here; null when another worker owns it.
        const taken = await supervisor.resume(runId, 'reins').catch(() => null);
        if (taken) return abortable(taken.outcome, signal);
      }
      await sleep(REMOTE_POLL_MS, signal);
    }
  }

  async #runLocal(request: SubRunRequest): Promise<TerminalOutcome> {
    let run = this.#local.get(request.runId);
    if (!run) {
      run = request.agent.start({ input: request.input, runId: request.runId, limits: request.limits });
      this.#local.set(request.runId, run);
      void run.outcome.then(() => this.#local.delete(request.runId));
    }
    const child = run;
    // In this process nothing hands the child over: a parent that stops waiting ends it.
    const onAbort = () => child.kill('reins', `its parent ${request.parentId} stopped waiting for it`);
    request.signal.addEventListener('abort', onAbort, { once: true });
    try {
      return await abortable(child.outcome, request.signal);
    } finally {
      request.signal.removeEventListener('abort', onAbort);
    }
  }
}

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

/** Resolves with `promise`, or rejects when `signal` aborts first. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => (signal.removeEventListener('abort', onAbort), resolve(v)),
      (e: unknown) => (signal.removeEventListener('abort', onAbort), reject(e)),
    );
  });
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const t = setTimeout(() => (signal.removeEventListener('abort', onAbort), resolve()), ms);
    const onAbort = () => (clearTimeout(t), reject(signal.reason));
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
