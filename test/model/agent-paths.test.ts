/**
 * Model-based tests of the agent lifecycle machine: walk the simple paths of
 * its state graph with @xstate/graph, replay each one on a real actor (plainly,
 * and through a JSON persist-and-restore before every event) and check that
 * every path ends in a final state whose output is a valid TerminalOutcome with
 * the reason that final state stands for.
 *
 * How the graph is made finite and replayable is in ./harness.ts: stub actors
 * that never settle, invoke results and delayed events sent by the test, a
 * fixed clock, and a serialisation of (state value, the context a guard reads).
 *
 * Bounds. Walking every simple path of one unbounded configuration explodes
 * (two turns, every event in every state, at most one interrupt per run:
 * ~3.5k abstract states and ~450k simple paths to final states; each path is
 * replayed twice at ~0.2 ms an event), so the walk is split into
 * configurations, each bounded along one axis, whose union takes every
 * reachable transition of the chart (asserted below):
 * - one-turn: maxTurns 1, every decision, every call result, and PAUSE / KILL /
 *   deadline offered in every state, at most one of them per run (a paused run
 *   can still be resumed or killed). Everything that can happen inside a turn.
 * - two-turns: maxTurns 2, what needs a second turn (the turn budget, a loop
 *   across turns, a circuit left open by an earlier call). The first turn
 *   offers every decision and every failure; the second a short menu and only
 *   successful calls: a failure there meets the same guards as in the first.
 * - judged, judged-twice: the progress judge (verdicts, a crashed judge, and
 *   PAUSE / KILL / deadline while it runs; one failed check that only nudges,
 *   then a second that ends the run). The turns around it only produce history.
 * - unreconciled-replan: the side-effecting tool without reconcile, and an
 *   approval timeout that re-plans instead of escalating.
 * - length-recovery, length-no-compaction: output cut off at its limit three
 *   times in a row (raised limit, compaction, MODEL_REFUSED), with and
 *   without compaction, and a compaction that finds nothing to compact.
 * - compaction: every call fills the context past the threshold, so each
 *   later turn compacts first (PAUSE / KILL / deadline while it runs), and
 *   the goal is restated every turn.
 * In every walk, events that lead from one state to the same next state are
 * parallel edges: only the first is walked (the others would multiply paths
 * and reach nothing new), and each dropped one is replayed once, after the
 * shortest path to its state (the transition tour).
 */
import { getShortestPaths, getSimplePaths, type StatePath } from '@xstate/graph';
import { createActor, SimulatedClock, transition, type AnyEventObject } from 'xstate';
import { describe, expect, it } from 'vitest';
import { TerminalOutcome } from '../../machines/outcome.js';
import {
  AFTER,
  ALL_DECISIONS,
  buildInput,
  buildMachine,
  chartEventTypes,
  chartTransitions,
  distinctMoves,
  eventCases,
  FINAL_REASONS,
  leafOf,
  replay,
  serializeState,
  STARTED_AT,
  type FinalState,
  type ModelConfig,
  type PrunedMove,
  type TestMachine,
  type TestSnapshot,
  type WalkBounds,
} from './harness.js';

interface Walk {
  readonly config: ModelConfig;
  readonly bounds: WalkBounds;
}

const base = { progress: null, reconcilable: true, onApprovalTimeout: 'escalate', decisions: ALL_DECISIONS } as const;

const WALKS: readonly Walk[] = [
  {
    // callSearchTwice is left to the multi-turn walks: within one turn it is two reads in a row, which callPayThenSearch already is.
    config: { ...base, name: 'one-turn', maxTurns: 1, decisions: ALL_DECISIONS.filter((d) => d !== 'callSearchTwice') },
    bounds: { interrupts: 'anywhere' },
  },
  {
    config: { ...base, name: 'two-turns', maxTurns: 2 },
    // callSearch after callSearchTwice is the third identical read (LOOP_DETECTED); callPay after a
    // reconciled in-doubt payment meets the circuit that payment left open (TOOL_FAILURE at checking).
    bounds: { interrupts: 'nowhere', laterDecisions: ['callSearch', 'callPay'], failures: 'firstTurn' },
  },
  {
    // The judge and PAUSE / KILL / deadline while it runs; the turns around it only need to produce history.
    config: { ...base, name: 'judged', maxTurns: 2, progress: { everyTurns: 1, maxFailedChecks: 1 }, decisions: ['callSearch', 'callSearchTwice', 'callPay', 'callInvalid', 'callNothing'] },
    bounds: { interrupts: 'helpers', laterDecisions: ['callSearch'], failures: 'never' },
  },
  {
    // Two failed checks end the run; one only nudges the model.
    config: { ...base, name: 'judged-twice', maxTurns: 3, decisions: ['callSearch', 'callNothing'], progress: { everyTurns: 1, maxFailedChecks: 2 } },
    bounds: { interrupts: 'nowhere', failures: 'firstTurn' },
  },
  {
    // An unreconcilable in-doubt payment goes to a human: approve (a new attempt, edited or not), reject, expire, pause;
    // a late decision for another item is ignored.
    config: { ...base, name: 'ask-human', maxTurns: 1, reconcilable: false, inDoubt: 'ask', decisions: ['callPay'], approvalEdits: true },
    bounds: { interrupts: 'anywhere' },
  },
  {
    config: { ...base, name: 'no-deadline', maxTurns: 1, deadline: false, decisions: ['answer'] },
    bounds: { interrupts: 'nowhere', failures: 'never' },
  },
  {
    config: { ...base, name: 'unreconciled-replan', maxTurns: 2, reconcilable: false, onApprovalTimeout: 'replan', decisions: ['callPay', 'callPayThenSearch'], approvalEdits: true },
    bounds: { interrupts: 'nowhere', laterDecisions: ['answer'] },
  },
  {
    // Output cut off at its limit: re-asked with a raised limit, then compacted (a summary, or nothing to compact), then MODEL_REFUSED.
    // The window is unknown (no threshold), so only the truncation compacts; three turns hold three truncations in a row.
    config: { ...base, name: 'length-recovery', maxTurns: 3, decisions: ['truncated', 'answer'], compaction: { thresholdTokens: null } },
    bounds: { interrupts: 'helpers', failures: 'never' },
  },
  {
    // Without compaction the second truncation in a row ends the run.
    config: { ...base, name: 'length-no-compaction', maxTurns: 2, decisions: ['truncated', 'answer'] },
    bounds: { interrupts: 'nowhere', failures: 'never' },
  },
  {
    // Every call fills the context to the threshold: compaction before each later turn (PAUSE / KILL / deadline while it runs),
    // and the goal restated every turn.
    config: { ...base, name: 'compaction', maxTurns: 2, decisions: ['callSearch', 'answer'], compaction: { thresholdTokens: 10 }, goalReminderEveryTurns: 1 },
    bounds: { interrupts: 'helpers', failures: 'never' },
  },
  {
    // A rate-limited call refused by its limit: a durable wait (rateWaiting), then another try; PAUSE / KILL / deadline while it waits.
    config: { ...base, name: 'rate-limited', maxTurns: 1, decisions: ['callEmail', 'answer'] },
    bounds: { interrupts: 'anywhere' },
  },
  {
    // The answer path: each answer is checked (accepted, rejected back to the model, a crashed check, PAUSE / KILL / deadline
    // while it runs); the second rejected answer ends the run RESULT_REJECTED.
    config: { ...base, name: 'verified', maxTurns: 3, decisions: ['answer', 'callSearch'], verifyAttempts: 2 },
    bounds: { interrupts: 'helpers', laterDecisions: ['answer'], failures: 'never' },
  },
  {
    // A result that fails its output check: retried, then shown to the model, which re-plans; a payment's is in doubt.
    config: { ...base, name: 'hidden-failures', maxTurns: 2, decisions: ['callSearch', 'callPay', 'answer'], hiddenFailures: true },
    bounds: { interrupts: 'nowhere', laterDecisions: ['callSearch', 'answer'], failures: 'never' },
  },
  {
    // A sub-run: its spend joins the run's subtree (the tree's turns end the run at the budget), or a budget has no room for it.
    config: { ...base, name: 'sub-runs', maxTurns: 3, decisions: ['callSpawn', 'answer'] },
    bounds: { interrupts: 'nowhere', failures: 'firstTurn' },
  },
];

/**
 * Chart transitions no walk takes, and why: the timers' early-fire re-arms
 * ([approvalNotDue], [retryNotDue], [deadlineAhead]) need a clock that is
 * before the due time when the timer fires, and the walks' clock never moves
 * (every delivered timer is due). The long-deadline tests below take the
 * deadline one; the others are the same guard on their own due time.
 */
const UNREACHABLE = new Set([
  'running.work.active.awaitingApproval | after:untilApprovalDue [approvalNotDue] -> running.work.active.awaitingApproval',
  'running.work.active.rateWaiting | after:untilRateRetry [rateRetryNotDue] -> running.work.active.rateWaiting',
  'running.work.active.backingOff | after:untilRetry [retryNotDue] -> running.work.active.backingOff',
  'running.clock.ticking | after:untilDeadline [deadlineAhead] -> running.clock.ticking',
]);

const isDone = (s: TestSnapshot) => s.status === 'done';
const stepsOf = (path: StatePath<TestSnapshot, AnyEventObject>) => path.steps.slice(1);
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

interface WalkResult {
  readonly name: string;
  readonly paths: number;
  readonly events: number;
  readonly tour: number;
  readonly perFinal: Record<string, number>;
  readonly taken: Set<string>;
  readonly chart: string[];
  readonly problems: string[];
  readonly ms: number;
}

/** Replays one event sequence both ways and checks them against the graph and each other. */
function check(
  machine: TestMachine,
  walk: Walk,
  events: readonly AnyEventObject[],
  expectedValues: readonly unknown[],
  problems: string[],
  taken: Set<string>,
) {
  const input = buildInput(walk.config);
  const where = () => `${walk.config.name}: ${events.map((e) => e.type.replace(/^xstate\./, '')).join(' > ')}`;
  const plain = replay(machine, input, events, false);
  const restored = replay(machine, input, events, true);
  for (const label of plain.taken) taken.add(label);
  if (!same(plain.values, expectedValues)) problems.push(`${where()}: live actor went ${JSON.stringify(plain.values)}, graph ${JSON.stringify(expectedValues)}`);
  if (!same(restored.values, plain.values)) problems.push(`${where()}: restored actor went ${JSON.stringify(restored.values)}, plain ${JSON.stringify(plain.values)}`);
  if (restored.status !== plain.status || !same(restored.output, plain.output)) {
    problems.push(`${where()}: restored outcome ${JSON.stringify(restored.output)} != plain ${JSON.stringify(plain.output)}`);
  }
  return plain;
}

/** Checks a path that ends in a final state: done, a valid TerminalOutcome, the final state's reason. */
function checkFinal(walk: Walk, finalState: string | null, result: { status: string; output: unknown }, events: readonly AnyEventObject[], problems: string[]) {
  const where = `${walk.config.name}: ${events.map((e) => e.type.replace(/^xstate\./, '')).join(' > ')}`;
  if (result.status !== 'done' || finalState === null) {
    problems.push(`${where}: ended with status ${result.status}`);
    return;
  }
  const parsed = TerminalOutcome.safeParse(result.output);
  if (!parsed.success) {
    problems.push(`${where}: output does not parse: ${parsed.error.message}`);
    return;
  }
  const expected = FINAL_REASONS[finalState as FinalState];
  if (parsed.data.reason !== expected) problems.push(`${where}: ${finalState} carries ${parsed.data.reason}, expected ${expected}`);
}

const results = new Map<string, WalkResult>();

/** Walks one configuration (once per test run, whichever test asks first). */
function run(walk: Walk): WalkResult {
  const cached = results.get(walk.config.name);
  if (cached) return cached;
  const started = performance.now();
  const machine = buildMachine(walk.config);
  const input = buildInput(walk.config);
  const pruned = new Map<string, PrunedMove>();
  const problems: string[] = [];
  const events = distinctMoves(machine, eventCases(walk.config, walk.bounds), {
    onPruned: (move) => pruned.set(`${serializeState(move.from)} ${JSON.stringify(move.event)}`, move),
    onError: (move) => problems.push(`${walk.config.name}: ${move.event.type} in ${leafOf(move.from)} puts the machine in status 'error'`),
  });
  const options = { input, events: events as never, serializeState: serializeState as never };

  const paths = getSimplePaths(machine, { ...options, toState: isDone });
  const taken = new Set<string>();
  const perFinal: Record<string, number> = {};
  let eventCount = 0;
  for (const path of paths) {
    const steps = stepsOf(path);
    const evs = steps.map((s) => s.event);
    eventCount += evs.length;
    const plain = check(machine, walk, evs, steps.map((s) => s.state.value), problems, taken);
    checkFinal(walk, plain.finalState, plain, evs, problems);
    const final = leafOf(path.state);
    perFinal[final] = (perFinal[final] ?? 0) + 1;
    if (plain.finalState !== final) problems.push(`${walk.config.name}: graph ends in ${final}, live actor in ${plain.finalState}`);
  }

  // The transition tour: each dropped parallel event once, after the shortest path to its state.
  const shortest = new Map(getShortestPaths(machine, options).map((p) => [serializeState(p.state), p]));
  for (const { from, event } of pruned.values()) {
    const prefix = shortest.get(serializeState(from));
    if (!prefix) {
      problems.push(`${walk.config.name}: no path to a state where ${event.type} was dropped`);
      continue;
    }
    const [next] = transition(machine, prefix.state, event as never);
    const steps = stepsOf(prefix);
    const evs = [...steps.map((s) => s.event), event];
    eventCount += evs.length;
    const plain = check(machine, walk, evs, [...steps.map((s) => s.state.value), next.value], problems, taken);
    if (isDone(next)) checkFinal(walk, plain.finalState, plain, evs, problems);
  }

  const result: WalkResult = {
    name: walk.config.name,
    paths: paths.length,
    events: eventCount,
    tour: pruned.size,
    perFinal,
    taken,
    chart: chartTransitions(machine),
    problems,
    ms: Math.round(performance.now() - started),
  };
  results.set(walk.config.name, result);
  return result;
}

describe('agent lifecycle machine: model-based paths', () => {
  for (const walk of WALKS) {
    it(`${walk.config.name}: every simple path ends in a typed final state, and replays identically through JSON`, () => {
      const result = run(walk);
      expect(result.paths).toBeGreaterThan(0);
      expect(result.problems.slice(0, 10)).toEqual([]);
    }, 300_000); // the harness limit, not a speed check: one walk replays thousands of paths, and a loaded 2-core machine took 116 s for the largest
  }

  it('reaches all 14 final states and takes every transition of the chart', () => {
    const all = WALKS.map(run);
    const perFinal: Record<string, number> = {};
    for (const r of all) for (const [k, n] of Object.entries(r.perFinal)) perFinal[k] = (perFinal[k] ?? 0) + n;
    const taken = new Set(all.flatMap((r) => [...r.taken]));
    const chart = all[0]!.chart;
    const missed = chart.filter((t) => !taken.has(t) && !UNREACHABLE.has(t));

    const lines = [
      `model-based walk: ${all.reduce((n, r) => n + r.paths, 0)} simple paths to final states + ${all.reduce((n, r) => n + r.tour, 0)} tour paths, ` +
        `${all.reduce((n, r) => n + r.events, 0)} events, each replayed twice (plain, JSON round trip before every event)`,
      ...all.map((r) => `  ${r.name.padEnd(20)} ${String(r.paths).padStart(5)} paths ${String(r.tour).padStart(4)} tour  ${r.ms} ms  ${JSON.stringify(r.perFinal)}`),
      `  per final state: ${JSON.stringify(perFinal)}`,
      `  chart transitions taken: ${chart.filter((t) => taken.has(t)).length} of ${chart.length}`,
    ];
    console.log(lines.join('\n'));

    expect(Object.keys(perFinal).sort()).toEqual(Object.keys(FINAL_REASONS).sort());
    // The delayed events the walk sends are the ones the chart listens for (a typo would just be ignored).
    const types = chartEventTypes(buildMachine(WALKS[0]!.config));
    expect(Object.values(AFTER).filter((t) => !types.has(t))).toEqual([]);
    expect(new Set(chart).size).toBe(chart.length);
    expect(missed).toEqual([]);
  }, 120_000);
});

/** Longest delay a JS timer holds; the machine caps its delays here (MAX_TIMER_MS in agent-machine.ts). */
const MAX_TIMER_MS = 2_147_483_647;

describe('agent lifecycle machine: defects the model walk turned up', () => {
  const config = WALKS[0]!.config;

  /** The run timed out in planning, once on a live actor and once through XState's pure transition function. */
  function timeoutBothWays() {
    const machine = buildMachine(config);
    const actor = createActor(machine, { input: buildInput(config), clock: new SimulatedClock() }).start();
    const before = actor.getSnapshot();
    actor.send({ type: AFTER.deadline } as never);
    const live = actor.getSnapshot().output;
    actor.stop();
    const [pure] = transition(machine, before, { type: AFTER.deadline } as never);
    return { live, pure: pure.output };
  }

  it('a live actor records where the run was when time ran out', () => {
    expect(timeoutBothWays().live).toMatchObject({ reason: 'TIMEOUT', state: 'planning', tool: null });
  });

  // Evidence comes from context (`phase`), so a pure transition of a stored
  // snapshot and a live actor agree on where the run was.
  it('the pure transition function records the same TIMEOUT evidence as a live actor', () => {
    const { live, pure } = timeoutBothWays();
    expect(pure).toEqual(live);
  });

  /** A run whose wall-clock budget is a minute longer than the longest JS timer, on a simulated clock. */
  function longDeadlineRun() {
    const clock = new SimulatedClock();
    const machine = buildMachine(config, () => STARTED_AT + clock.now());
    const input = { ...buildInput(config), limits: { maxTurns: 1, maxWallClockMs: MAX_TIMER_MS + 60_000 } };
    const actor = createActor(machine, { input, clock }).start();
    return { clock, actor };
  }

  it('a deadline timer capped at the longest JS timer does not end the run early', () => {
    const { clock, actor } = longDeadlineRun();
    clock.increment(MAX_TIMER_MS); // the capped timer fires; the deadline is still a minute away
    const leaf = leafOf(actor.getSnapshot());
    actor.stop();
    expect(leaf).toBe('planning');
  });

  // A timer that fires before the deadline (the JS timer cap, a clock step) re-arms itself for the rest.
  it('a wall-clock deadline longer than the longest JS timer still ends the run TIMEOUT', () => {
    const { clock, actor } = longDeadlineRun();
    clock.increment(MAX_TIMER_MS);
    clock.increment(120_000); // now well past the deadline
    const value = actor.getSnapshot().value;
    actor.stop();
    expect(value).toBe('timedOut');
  });
});
