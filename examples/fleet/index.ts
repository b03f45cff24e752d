import type { AgentRun } from '../../agents/agent-run.js';
import type { RunStatus } from '../../agents/status.js';
import { seedFrom } from '../../guards/random.js';
import type { TerminalOutcome } from '../../machines/outcome.js';
import { codingScenarios } from './coding.js';
import { operate, type OperatorAction } from './operator.js';
import { researchScenarios } from './research.js';
import type { Scenario } from './scenario.js';
import { supportScenarios } from './support.js';

export type { OperatorAction } from './operator.js';
export type { Scenario } from './scenario.js';

/** Every scenario of the demo fleet, in display order. */
export const FLEET: readonly Scenario[] = [...supportScenarios, ...researchScenarios, ...codingScenarios];

/** How many runs are in flight at once: like a pool of workers, and so that the live table has something to show. */
export const DEFAULT_CONCURRENCY = 6;

/** How to run the fleet. */
export interface FleetOptions {
  /** Reseeds every run's backoff jitter; by default each run's seed derives from its id alone. */
  seed?: number;
  concurrency?: number;
  scenarios?: readonly Scenario[];
  /** Called as each run starts, e.g. to watch its status. */
  onStart?: (run: AgentRun, scenario: Scenario) => void;
  /** Called as the demo's operator issues each command (pause, resume, kill, approve, reject). */
  onOperatorAction?: (action: OperatorAction) => void;
}

/** One finished run: its scenario, its outcome, and what an observer saw while it ran. */
export interface FleetResult {
  readonly scenario: Scenario;
  readonly outcome: TerminalOutcome;
  /** True when the run ended with the reason its scenario was designed for. */
  readonly asDesigned: boolean;
  /** Every live status the run showed (running, paused, awaiting-approval, done). */
  readonly seen: ReadonlySet<RunStatus['status']>;
}

/** Starts one scenario's run, puts the operator on it if it has a control, and waits for its outcome. */
async function runScenario(scenario: Scenario, options: FleetOptions): Promise<FleetResult> {
  const agent = scenario.agent.build(scenario.script, scenario.tuning ?? {});
  const seed = options.seed === undefined ? undefined : seedFrom(`${options.seed}:${scenario.runId}`);
  const run = agent.start({ runId: scenario.runId, input: scenario.goal, ...(seed === undefined ? {} : { seed }) });
  const seen = new Set<RunStatus['status']>([run.status().status]);
  run.onStatus((status) => seen.add(status.status));
  if (scenario.control) operate(run, scenario.control, options.onOperatorAction);
  options.onStart?.(run, scenario);
  const outcome = await run.outcome;
  return { scenario, outcome, asDesigned: outcome.reason === scenario.expected, seen };
}

/** Runs the fleet with at most `concurrency` runs in flight; results come back in scenario order. */
export async function runFleet(options: FleetOptions = {}): Promise<FleetResult[]> {
  const scenarios = options.scenarios ?? FLEET;
  const results: FleetResult[] = [];
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < scenarios.length; i = next++) results[i] = await runScenario(scenarios[i]!, options);
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? DEFAULT_CONCURRENCY) }, worker));
  return results;
}
