import { hostname, userInfo } from 'node:os';
import type { AgentRun } from '../../agents/agent-run.js';
import { RunNotFoundError } from '../../agents/errors.js';
import type { Supervisor } from '../../agents/supervisor.js';
import type { RunRecord } from '../../persistence/records.js';
import type { AgentContext } from '../../machines/agent-context.js';
import { ConflictError } from '../exit-codes.js';
import { runView, type RunView } from './runs.js';

/** An operator command on one run. */
export type ControlCommand = 'pause' | 'resume' | 'kill' | 'approve' | 'reject';

export interface ControlRequest {
  readonly command: ControlCommand;
  readonly runId: string;
  /** Who issues it: recorded with the pause, kill or approval. */
  readonly by: string;
  /** Why (pause, kill), or the feedback for the model (reject). */
  readonly why?: string;
}

/** What came of a command: seen applied in the store, requested (it lands once an in-flight call settles), or now hosted by this process. */
export interface ControlResult {
  readonly runId: string;
  readonly command: ControlCommand;
  readonly effect: 'applied' | 'requested' | 'hosted-here';
  /** The run after the command, as far as the store shows. */
  readonly run: RunView | null;
  /** The local handle when this process ended up hosting the run (nobody else did). */
  readonly hosted: AgentRun | null;
}

/** Who an operator is when they do not say: REINS_OPERATOR, else user@host. */
export function defaultOperator(env: NodeJS.ProcessEnv = process.env): string {
  if (env.REINS_OPERATOR) return env.REINS_OPERATOR;
  let user = 'operator';
  try {
    user = userInfo().username;
  } catch {
    // No passwd entry (some containers): keep the generic name.
  }
  return `${user}@${hostname()}`;
}

interface Stored {
  readonly status: RunRecord['summary']['status'];
  readonly state: string;
  readonly reason: string | null;
  readonly pauseRequested: boolean;
}

function storedOf(record: RunRecord): Stored {
  const context = (record.snapshot as { context?: AgentContext } | null)?.context;
  return { status: record.summary.status, state: record.summary.state, reason: record.summary.reason, pauseRequested: (context?.pauseRequest ?? null) !== null };
}

/** Refuses a command the run is in no state to take (exit 5), before anything is sent. */
function checkApplicable(command: ControlCommand, runId: string, run: Stored): void {
  if (run.status === 'done') throw new ConflictError(`run ${runId} already ended${run.reason ? ` (${run.reason})` : ''}`);
  if (run.status === 'quarantined') throw new ConflictError(`run ${runId} is quarantined (its record does not parse); repair or delete it first`);
  switch (command) {
    case 'pause':
      if (run.status === 'paused') throw new ConflictError(`run ${runId} is already paused`);
      return;
    case 'resume':
      if (run.status !== 'paused' && !run.pauseRequested) throw new ConflictError(`run ${runId} is not paused (state ${run.state})`);
      return;
    case 'approve':
    case 'reject':
      if (run.state !== 'awaitingApproval') throw new ConflictError(`run ${runId} is not awaiting approval (state ${run.state})`);
      return;
    case 'kill':
      return;
  }
}

/** Whether the store shows the command's effect. */
function landed(command: ControlCommand, before: Stored, now: Stored): boolean {
  if (now.status === 'done') return true;
  switch (command) {
    case 'pause':
      return now.status === 'paused';
    case 'resume':
      return now.status !== 'paused';
    case 'kill':
      return false;
    case 'approve':
    case 'reject':
      return now.state !== 'awaitingApproval' || now.status !== before.status;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Issues one operator command through the Supervisor (to the owning worker
 * through the store, or applied to the stored snapshot when nobody owns the
 * run) after checking the run can take it, then watches the store up to
 * `waitMs` (default 10 s) for the effect.
 */
export async function control(supervisor: Supervisor, request: ControlRequest, options: { waitMs?: number } = {}): Promise<ControlResult> {
  const { runId, command, by } = request;
  const store = supervisor.store;
  const record = await store.load(runId);
  if (!record) throw new RunNotFoundError(runId);
  const before = storedOf(record);
  checkApplicable(command, runId, before);
  const why = request.why ?? '';
  switch (command) {
    case 'pause':
      await supervisor.pause(runId, by, why || 'paused by an operator');
      break;
    case 'resume':
      await supervisor.resume(runId, by);
      break;
    case 'kill':
      await supervisor.kill(runId, by, why || 'killed by an operator');
      break;
    case 'approve':
      await supervisor.approve(runId, by);
      break;
    case 'reject':
      await supervisor.reject(runId, by, why);
      break;
  }
  const hosted = supervisor.get(runId) ?? null;
  const deadline = Date.now() + (options.waitMs ?? 10_000);
  for (;;) {
    const now = await store.load(runId);
    const view = now ? runView(now.summary, now, null, Date.now()) : null;
    if (hosted) return { runId, command, effect: 'hosted-here', run: view, hosted };
    if (!now || landed(command, before, storedOf(now))) return { runId, command, effect: 'applied', run: view, hosted: null };
    if (Date.now() >= deadline) return { runId, command, effect: 'requested', run: view, hosted: null };
    await sleep(50);
  }
}

/** Waits until a run this process hosts ends or waits for a human again (paused, awaiting approval). */
export function untilSettled(run: AgentRun): Promise<'done' | 'paused' | 'awaiting-approval'> {
  return new Promise((resolve) => {
    const check = () => {
      const s = run.status().status;
      if (s === 'done' || s === 'paused' || s === 'awaiting-approval') {
        unsubscribe();
        resolve(s);
      }
    };
    const unsubscribe = run.onStatus(check);
    void run.outcome.then(check);
    check();
  });
}
