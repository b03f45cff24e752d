import type { AgentRun } from '../../agents/agent-run.js';
import type { RunStatus } from '../../agents/status.js';
import type { Supervisor } from '../../agents/supervisor.js';
import type { Control } from './scenario.js';

/** Who the demo's on-call operator is, in every pause, kill and approval. */
export const OPERATOR = 'oncall@demo';

/** The operator's rule for the runaway crawl: kill a run mid-call once it has spent this much. */
const KILL_AT_USD = 0.02;

/** How long the operator keeps a run paused to look at it. */
const PAUSE_HOLD_MS = 150;

/** A human does not answer within the same tick: act a moment after the status that prompted it. */
const REACTION_MS = 15;

/** The refund policy the operator quotes when rejecting. */
const REJECTION_FEEDBACK = 'Refunds above $100 need a photo of the damage; refund $100 now instead.';

/** Why the held crawl is paused rather than killed: the kill is left to a human. */
const HELD_FOR_KILL = 'runaway cost: left for a human to kill';

/** An operator command as issued, so that the demo can show who did what to which run. */
export interface OperatorAction {
  readonly by: string;
  readonly runId: string;
  readonly command: Command;
  readonly why: string | null;
}

/** What a held run waits for a human to do (`reins demo --hold`). */
export type HumanAction = 'approve' | 'reject' | 'resume' | 'kill';

/** A run the demo's operator left for a human, and what it waits for. */
export interface HeldRun {
  readonly runId: string;
  readonly waitingFor: HumanAction;
  /** Why the operator holds it, in a few words. */
  readonly note: string;
}

type Command = 'approve' | 'reject' | 'kill' | 'pause' | 'resume';

/** Where the operator's commands go: the Supervisor, so that they take the same path as `reins pause` from another terminal. */
export type OperatorDesk = Pick<Supervisor, 'pause' | 'resume' | 'kill' | 'approve' | 'reject'>;

const ISSUE: Record<Command, (desk: OperatorDesk, runId: string, why: string) => Promise<unknown>> = {
  approve: (desk, runId) => desk.approve(runId, OPERATOR),
  reject: (desk, runId, why) => desk.reject(runId, OPERATOR, why),
  kill: (desk, runId, why) => desk.kill(runId, OPERATOR, why),
  pause: (desk, runId, why) => desk.pause(runId, OPERATOR, why),
  resume: (desk, runId) => desk.resume(runId, OPERATOR),
};

/**
 * When the status shows the moment for it, issue `command` (after `afterMs`,
 * else REACTION_MS), or hand the run to a human (`hold`); each rule fires once.
 */
interface Rule {
  readonly when: (status: RunStatus) => boolean;
  readonly command?: Command;
  readonly why?: string;
  readonly afterMs?: number;
  readonly hold?: Omit<HeldRun, 'runId'>;
}

const awaiting = (s: RunStatus) => s.status === 'awaiting-approval';
const midCall = (s: RunStatus) => s.status === 'running' && s.activeTool !== null && s.turns >= 2;
const runaway = (s: RunStatus) => s.activeTool !== null && s.usage.costUsd >= KILL_AT_USD;
const paused = (s: RunStatus) => s.status === 'paused';

/** The operator acting alone: the demo ends by itself. */
const AUTO_RULES: Record<Control, readonly Rule[]> = {
  approve: [{ when: awaiting, command: 'approve' }],
  reject: [{ when: awaiting, command: 'reject', why: REJECTION_FEEDBACK }],
  kill: [{ when: runaway, command: 'kill', why: 'runaway cost' }],
  'pause-resume': [
    // Mid-flight: the pause lands while a tool call is running, and takes effect once it settles.
    { when: midCall, command: 'pause', why: 'inspect' },
    { when: paused, command: 'resume', afterMs: PAUSE_HOLD_MS },
  ],
};

/** The operator leaving the decisions to a human at a second terminal (`reins demo --hold`). */
const HOLD_RULES: Record<Control, readonly Rule[]> = {
  approve: [{ when: awaiting, hold: { waitingFor: 'approve', note: 'a $240 refund waits for approval' } }],
  reject: [{ when: awaiting, hold: { waitingFor: 'reject', note: 'a $180 refund above policy waits for a decision' } }],
  kill: [
    { when: runaway, command: 'pause', why: HELD_FOR_KILL },
    { when: paused, hold: { waitingFor: 'kill', note: 'a runaway crawl, paused by the operator' } },
  ],
  'pause-resume': [
    { when: midCall, command: 'pause', why: 'inspect' },
    { when: paused, hold: { waitingFor: 'resume', note: 'paused mid-flight by the operator' } },
  ],
};

/** How the operator works a run: on its own, or holding runs for a human. */
export interface OperateOptions {
  readonly hold?: boolean;
  readonly onAction?: (action: OperatorAction) => void;
  readonly onHeld?: (held: HeldRun) => void;
}

/** Watches a run and applies its scenario's control the way an on-call engineer would; stops watching when the run ends. */
export function operate(run: AgentRun, control: Control, desk: OperatorDesk, options: OperateOptions = {}): void {
  const waiting = new Set((options.hold ? HOLD_RULES : AUTO_RULES)[control]);
  const unsubscribe = run.onStatus((status) => {
    if (status.status === 'done') {
      unsubscribe();
      return;
    }
    for (const rule of waiting) {
      if (!rule.when(status)) continue;
      waiting.delete(rule);
      if (rule.hold) options.onHeld?.({ runId: run.runId, ...rule.hold });
      const command = rule.command;
      if (!command) continue;
      setTimeout(() => {
        options.onAction?.({ by: OPERATOR, runId: run.runId, command, why: rule.why ?? null });
        // A command that lost a race with the run's end (it finished meanwhile) is not the demo's failure.
        ISSUE[command](desk, run.runId, rule.why ?? '').catch(() => undefined);
      }, rule.afterMs ?? REACTION_MS);
    }
  });
}
