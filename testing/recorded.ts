import type { AgentScript } from './redefine.js';

/** A stored run as a fixture. */
export interface RecordedRun {
  readonly runId: string;
}

/** Where a replay first went another way than its recording. */
export interface Divergence {
  readonly runId: string;
}

/** Scripts that replay `recorded`. */
export function replayScripts(recorded: RecordedRun, scripts: ReadonlyMap<string, AgentScript>, onDivergence: (d: Divergence) => void): Map<string, AgentScript> {
  void recorded;
  void onDivergence;
  return new Map(scripts);
}
