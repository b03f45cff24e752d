import type { ChartGap } from '../machines/migrations/index.js';
import { ReinsError } from './errors.js';

/** A stored run whose machine or version is not the one this process has, and no migration bridges them. */
export class MachineMismatchError extends ReinsError {
  constructor(runId: string, stored: { id: string; version: string }, expected: { id: string; version: string }, detail?: string) {
    super('machine-mismatch', detail ?? `run ${runId} was stored by ${stored.id}@${stored.version}; this process has ${expected.id}@${expected.version}`);
  }
}

/** A run stored by a chart version of reins this release cannot bring to its own: a newer reins stored it, or a migration step is missing. */
export class ChartVersionError extends MachineMismatchError {
  readonly stored: number;
  readonly current: number;
  constructor(runId: string, machineId: string, agentVersion: string, gap: ChartGap) {
    const what =
      gap.kind === 'newer'
        ? `a newer reins stored it; run it with a reins release whose ${machineId} chart is v${gap.stored} or later (do not roll back past it while such runs are in flight)`
        : `this release has no migration from chart v${gap.missingFrom} to v${gap.missingFrom + 1}; upgrade through a reins release that ships it, or add it (docs/deploying.md)`;
    super(
      runId,
      { id: machineId, version: agentVersion },
      { id: machineId, version: agentVersion },
      `run ${runId} was stored by ${machineId} chart v${gap.stored}; this release runs chart v${gap.current}: ${what}`,
    );
    this.stored = gap.stored;
    this.current = gap.current;
  }
}

/** A run stored by another version of its agent (or pipeline) that this definition declares no way to take over. */
export class AgentVersionError extends MachineMismatchError {
  readonly stored: string;
  readonly current: string;
  constructor(runId: string, agentId: string, stored: string, current: string, why: string) {
    super(
      runId,
      { id: agentId, version: stored },
      { id: agentId, version: current },
      `run ${runId} was stored by ${agentId} version ${stored}; this process has version ${current}: ${why}`,
    );
    this.stored = stored;
    this.current = current;
  }
}
