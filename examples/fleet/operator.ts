import type { AgentRun } from '../../agents/agent-run.js';
import type { RunStatus } from '../../agents/status.js';
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

/** An operator command as issued, so that the demo can show who did what to which run. */
export interface OperatorAction {
  readonly by: string;
  readonly runId: string;
  readonly command: Command;
  readonly why: string | null;
}

type Command = 'approve' | 'reject' | 'kill' | 'pause' | 'resume';

const ISSUE: Record<Command, (run: AgentRun, why: string) => void> = {
  approve: (run) => run.approve(OPERATOR),
  reject: (run, why) => run.reject(OPERATOR, why),
  kill: (run, why) => run.kill(OPERATOR, why),
  pause: (run, why) => run.pause(OPERATOR, why),
  resume: (run) => run.resume(OPERATOR),
};

/** When the status shows the moment for it, issue `command` (after `afterMs`, else REACTION_MS); each rule fires once. */
interface Rule {
  readonly when: (status: RunStatus) => boolean;
  readonly command: Command;
  readonly why?: string;
  readonly afterMs?: number;
}

const RULES: Record<Control, readonly Rule[]> = {
  approve: [{ when: (s) => s.status === 'awaiting-approval', command: 'approve' }],
  reject: [{ when: (s) => s.status === 'awaiting-approval', command: 'reject', why: REJECTION_FEEDBACK }],
  kill: [{ when: (s) => s.activeTool !== null && s.usage.costUsd >= KILL_AT_USD, command: 'kill', why: 'runaway cost' }],
  'pause-resume': [
    // Mid-flight: the pause lands while a tool call is running, and takes effect once it settles.
    { when: (s) => s.status === 'running' && s.activeTool !== null && s.turns >= 2, command: 'pause', why: 'inspect' },
    { when: (s) => s.status === 'paused', command: 'resume', afterMs: PAUSE_HOLD_MS },
  ],
};

/** Watches a run and applies its scenario's control the way an on-call engineer would; stops watching when the run ends. */
export function operate(run: AgentRun, control: Control, onAction?: (action: OperatorAction) => void): void {
  const waiting = new Set(RULES[control]);
  const unsubscribe = run.onStatus((status) => {
    if (status.status === 'done') {
      unsubscribe();
      return;
    }
    for (const rule of waiting) {
      if (!rule.when(status)) continue;
      waiting.delete(rule);
      setTimeout(() => {
        onAction?.({ by: OPERATOR, runId: run.runId, command: rule.command, why: rule.why ?? null });
        ISSUE[rule.command](run, rule.why ?? '');
      }, rule.afterMs ?? REACTION_MS);
    }
  });
}
