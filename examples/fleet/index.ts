import type { Agent } from '../../agents/define-agent.js';
import type { AgentRun } from '../../agents/agent-run.js';
import type { RunStatus } from '../../agents/status.js';
import type { Supervisor } from '../../agents/supervisor.js';
import { seedFrom } from '../../guards/random.js';
import type { TerminalOutcome } from '../../machines/outcome.js';
import { coding, codingChecked, codingScenarios } from './coding.js';
import { operate, type HeldRun, type OperatorAction } from './operator.js';
import { research, researchScenarios } from './research.js';
import { runIdFor, type Scenario } from './scenario.js';
import { support, supportHurried, supportScenarios, supportWatchful } from './support.js';

export type { HeldRun, HumanAction, OperatorAction } from './operator.js';
export type { Scenario } from './scenario.js';
export { scenarioIdOf } from './scenario.js';

/** Every scenario of the demo fleet, in display order. */
export const FLEET: readonly Scenario[] = [...supportScenarios, ...researchScenarios, ...codingScenarios];

/**
 * The fleet's agents, to register with a Supervisor up front (and what
 * `reins --agents` loads by default): a runtime restores a stored run by its
 * agent id. Each plays every one of its scenarios, found by run id.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const agents: readonly Agent<any>[] = [support, supportHurried, supportWatchful, research, coding, codingChecked];

/** How many runs are in flight at once: like a pool of workers, and so that the live table has something to show. */
export const DEFAULT_CONCURRENCY = 6;

/** How long a held run may live: a human at a second terminal takes minutes, not the fleet's ten seconds. */
export const HELD_WALL_CLOCK_MS = 60 * 60_000;

/** A short, time-ordered prefix that keeps one demo's run ids apart from another's on the same store. */
export function demoPrefix(now = Date.now()): string {
  return `d${Math.floor(now / 100).toString(36)}`;
}

/** How to run the fleet. */
export interface FleetOptions {
  /** The supervisor the runs are started on; it must have `agents` registered. */
  readonly supervisor: Supervisor;
  /** Prefixed to every scenario id to make its run id (`<prefix>.support-01`); default none. */
  readonly prefix?: string;
  /** Reseeds every run's backoff jitter; by default each run's seed derives from its id alone. */
  readonly seed?: number;
  readonly concurrency?: number;
  readonly scenarios?: readonly Scenario[];
  /** Leave the operator-controlled runs to a human: approvals stay pending, paused runs stay paused. */
  readonly hold?: boolean;
  /** Called as each run starts, e.g. to watch its status. */
  readonly onStart?: (run: AgentRun, scenario: Scenario) => void;
  /** Called as the demo's operator issues each command (pause, resume, kill, approve, reject). */
  readonly onOperatorAction?: (action: OperatorAction) => void;
  /** Called when a held run starts waiting for a human. */
  readonly onHeld?: (held: HeldRun, scenario: Scenario) => void;
}

/** One finished run: its scenario, its outcome, and what an observer saw while it ran. */
export interface FleetResult {
  readonly scenario: Scenario;
  readonly runId: string;
  readonly outcome: TerminalOutcome;
  /** True when the run ended with the reason its scenario was designed for. */
  readonly asDesigned: boolean;
  /** Every live status the run showed (running, paused, awaiting-approval, done). */
  readonly seen: ReadonlySet<RunStatus['status']>;
}

/** Starts one scenario's durable run, puts the operator on it if it has a control, and waits for its outcome. */
async function runScenario(scenario: Scenario, options: FleetOptions): Promise<FleetResult> {
  const runId = runIdFor(options.prefix ?? '', scenario.id);
  const seed = options.seed === undefined ? undefined : seedFrom(`${options.seed}:${scenario.id}`);
  const held = options.hold === true && scenario.control !== undefined;
  const limits = held ? { ...scenario.limits, maxWallClockMs: HELD_WALL_CLOCK_MS } : scenario.limits;
  const run = await options.supervisor.start(scenario.agentId, {
    runId,
    input: scenario.goal,
    ...(limits ? { limits } : {}),
    ...(seed === undefined ? {} : { seed }),
  });
  const seen = new Set<RunStatus['status']>([run.status().status]);
  run.onStatus((status) => seen.add(status.status));
  if (scenario.control) {
    operate(run, scenario.control, options.supervisor, {
      hold: options.hold === true,
      ...(options.onOperatorAction ? { onAction: options.onOperatorAction } : {}),
      onHeld: (h) => options.onHeld?.(h, scenario),
    });
  }
  options.onStart?.(run, scenario);
  const outcome = await run.outcome;
  return { scenario, runId, outcome, asDesigned: outcome.reason === scenario.expected, seen };
}

/**
 * Runs the fleet with at most `concurrency` runs in flight; results come back
 * in scenario order. Held runs (`hold`) start at once beside the pool: they
 * wait for a human and must not keep the other runs queued meanwhile.
 */
export async function runFleet(options: FleetOptions): Promise<FleetResult[]> {
  const scenarios = options.scenarios ?? FLEET;
  const isHeld = (s: Scenario) => options.hold === true && s.control !== undefined;
  const results: FleetResult[] = [];
  const pooled = scenarios.map((s, i) => ({ s, i })).filter(({ s }) => !isHeld(s));
  const held = scenarios.map((s, i) => ({ s, i })).filter(({ s }) => isHeld(s));
  let next = 0;
  const worker = async () => {
    for (let k = next++; k < pooled.length; k = next++) results[pooled[k]!.i] = await runScenario(pooled[k]!.s, options);
  };
  await Promise.all([
    ...held.map(async ({ s, i }) => (results[i] = await runScenario(s, options))),
    ...Array.from({ length: Math.max(1, options.concurrency ?? DEFAULT_CONCURRENCY) }, worker),
  ]);
  return results;
}
