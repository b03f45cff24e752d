import type { z } from 'zod';
import { agentOptionsOf, type Agent } from '../agents/define-agent.js';
import { createLogger, type Logger } from '../agents/logger.js';
import type { Model, ModelRequest } from '../agents/model.js';
import type { Hostable } from '../agents/run-definition.js';
import { scriptedModel, type ScriptStep } from '../agents/scripted-model.js';
import type { ToolContext, ToolDefinition } from '../agents/tool.js';
import type { Limits } from '../guards/budget.js';
import type { TerminalOutcome, TerminalReason } from '../machines/outcome.js';
import { realTurn, VirtualClock } from './clock.js';
import { CoverageTracker, type Coverage } from './coverage.js';
import { planPaths, toolFaults, type Plan, type PlannedStep, type ScriptedTurn } from './decision-model.js';
import { World, type Decide, type Decision } from './explore-world.js';
import { checkPath, type Violation } from './invariants.js';
import { CallLog, type MockTool, type ToolFault } from './mock-tool.js';
import { agentsIn, modelOf, rebuildHostable, type AgentScript, type ModelScript } from './redefine.js';
import type { ScenarioTarget } from './scenario.js';
import { seededRandom } from './random.js';

/** What the model can do at a turn: its script (`script`: the agent's own model, calls included), a deliberate exit, a refusal, output cut at its length limit, a provider error, or an operator/process event before it answers. */
export type ModelFault = 'script' | 'giveUp' | 'escalate' | 'refuse' | 'truncate' | 'fail' | 'pause' | 'kill' | 'crash';
/** What one tool attempt can do: as defined (`ok`), fail retryably or fatally, time out, leave its outcome in doubt, or take effect as the process dies. */
export type ToolFaultName = 'ok' | 'retryable' | 'fatal' | 'timeout' | 'in-doubt' | 'crash';
/** What an operator does with a pending approval. */
export type ApprovalFault = 'approve' | 'edit' | 'reject' | 'expire';

/** The faults to inject; the first of each list is the default (what happens when a path does not branch there). */
export interface Faults {
  readonly model?: readonly ModelFault[];
  readonly tools?: readonly ToolFaultName[];
  readonly approvals?: readonly ApprovalFault[];
}

export const ALL_FAULTS: Required<Faults> = {
  model: ['script', 'giveUp', 'escalate', 'refuse', 'truncate', 'fail', 'pause', 'kill', 'crash'],
  tools: ['ok', 'retryable', 'fatal', 'timeout', 'in-doubt', 'crash'],
  approvals: ['approve', 'edit', 'reject', 'expire'],
};

/** One decision of a path: where (`<run>/model/<turn>`, `<run>/tool/<name>/<step>/<attempt>`, `<run>/approval/<item>`) and what was picked. */
export interface Choice {
  readonly at: string;
  readonly pick: string;
}

export interface ExploreOptions {
  /** Default: every fault (ALL_FAULTS). */
  readonly faults?: Faults;
  /** Decisions per path that may branch (later ones take the default). Default 8. */
  readonly depth?: number;
  /** Paths to run at most. Default 500. */
  readonly maxPaths?: number;
  /** Orders the branches tried at each depth; with maxPaths below the number of paths, another seed samples others. Default 1. */
  readonly seed?: number;
  /** The target agent's base model (default: its own) and mocks, as in scenario(). */
  readonly model?: ModelScript;
  readonly tools?: readonly MockTool[];
  /** Per agent id: base model and mocks. */
  readonly agents?: Readonly<Record<string, AgentScript>>;
  readonly input?: unknown;
  readonly limits?: z.input<typeof Limits>;
  /** Reasons no run of a path may end with (e.g. ACTION_IN_DOUBT). */
  readonly forbid?: readonly TerminalReason[];
  /** Child reasons a pipeline absorbs on purpose, as `<stage>:<reason>`. */
  readonly tolerate?: readonly string[];
  /** Runs only this path (from a failure's `path`); also read from REINS_EXPLORE_REPLAY (JSON). */
  readonly replay?: readonly Choice[];
  /** Virtual time a path may take before it is reported as a run that never ends: longer than its deadlines, approval windows and an explored pause (an hour). Default 6 h. */
  readonly horizonMs?: number;
  /**
   * The next version of the agent (or pipeline): every crash-restore brings the run back under it, so each path
   * tests its `migrate` from a run stored at the explored version in whatever state the crash left it. Same id.
   */
  readonly upgradeTo?: ScenarioTarget;
  /** Stop at the first failing path. Default true. */
  readonly stopAtFirstFailure?: boolean;
  readonly logger?: Logger;
}

/** A path that broke an invariant. */
export interface ExploreFailure {
  readonly violations: readonly Violation[];
  /** The decisions that were not the default, in order: the fault injection that fails. */
  readonly path: readonly Choice[];
  /** Every decision the path took (defaults included). */
  readonly decisions: number;
  readonly outcome: TerminalOutcome | null;
  /** A shell line that runs only this path again. */
  readonly replay: string;
}

export interface ExploreReport {
  readonly paths: number;
  readonly seed: number;
  readonly ok: boolean;
  /** Failing paths, fewest injected faults first (then fewest decisions). */
  readonly failures: readonly ExploreFailure[];
  /** For every reason some run ended with: the shortest path that got there. */
  readonly reached: Partial<Record<TerminalReason, readonly Choice[]>>;
  readonly coverage: Coverage;
  readonly elapsedMs: number;
  readonly pathsPerSecond: number;
  /** Human-readable summary: coverage, reasons reached, the first failure with its path and replay line. */
  format(): string;
}

/** Faults injected into one path at most: paths are generated with one, then two, then three. */
const MAX_FAULTS_PER_PATH = 3;

function shuffled<T>(items: readonly T[], next: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** A model that answers each turn as the path decides: its base model, or a fault. */
function faultModel(base: Model, decide: Decide, world: () => World, faults: readonly ModelFault[]): Model {
  const stepOf: Partial<Record<ModelFault, ScriptStep>> = {
    giveUp: { giveUp: 'explored: the model gives up' },
    escalate: { escalate: 'explored: the model escalates' },
    refuse: { refuse: 'explored: the model refuses' },
    truncate: { truncated: 'explored: cut off' },
    fail: { fail: 'explored: provider error', retryable: true, status: 503 },
  };
  return {
    ...base,
    async generate(request: ModelRequest) {
      const turn = request.messages.filter((m) => m.role === 'assistant').length + 1;
      const pick = decide(`${request.runId}/model/${turn}`, faults) as ModelFault;
      const step = stepOf[pick];
      if (step) return scriptedModel(() => step, { id: base.id }).generate(request);
      if (pick === 'crash') return world().crash();
      if (pick === 'pause') world().pause(request.runId);
      if (pick === 'kill') world().kill(request.runId);
      return base.generate(request);
    },
  };
}

/** What each run did on the default path, turn by turn: its agent, the tool it called first (null: it answered) and whether that call waited for approval. */
function skeletonsOf(decisions: readonly Decision[]): Map<string, { agent: string; turns: ScriptedTurn[] }> {
  const runs = new Map<string, { agent: string; turns: Array<{ call: string | null; approval: boolean }> }>();
  for (const d of decisions) {
    const [runId, kind, tool, , attempt] = d.at.split('/') as [string, string, string | undefined, string, string | undefined];
    if (!d.agent) continue;
    if (!runs.has(runId)) runs.set(runId, { agent: d.agent, turns: [] });
    const list = runs.get(runId)!.turns;
    const turn = list[list.length - 1];
    if (kind === 'model') list.push({ call: null, approval: false });
    else if (kind === 'approval' && turn) turn.approval = true;
    else if (kind === 'tool' && attempt === '1' && turn && turn.call === null) turn.call = tool!;
  }
  return runs;
}

/**
 * The paths to run after the default one: each run's decision model walked
 * with one fault per path, then two, then three, until there are `enough`;
 * fewest faults first, in an order the seed shuffles within each count.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function plansOf(agents: ReadonlyMap<string, Agent<any>>, decisions: readonly Decision[], o: { faults: Required<Faults>; depth: number; enough: number; next: () => number }): Plan[] {
  const skeletons = skeletonsOf(decisions);
  let plans: Plan[] = [];
  for (let maxFaults = 1; maxFaults <= MAX_FAULTS_PER_PATH && plans.length < o.enough; maxFaults++) {
    plans = [...skeletons].flatMap(([run, { agent, turns }]) => planPaths(agents.get(agent)!, run, turns, { faults: { model: o.faults.model, tools: o.faults.tools, approvals: o.faults.approvals }, depth: o.depth, maxFaults }));
  }
  return shuffled(plans.filter((p) => p.faults > 0), o.next).sort((a, b) => a.faults - b.faults);
}

/**
 * Explores the paths of an agent or pipeline with faults injected at every
 * decision (each model turn, tool attempt and approval; pause, kill and a
 * crash with restore on a fresh store copy), checking the invariants on each
 * path: one typed final outcome per run, no side effect twice, budgets not
 * overrun past the call that crossed them, no timeout while paused, every
 * child reason handled. Paths are run fewest faults first, so the first
 * failure is a shortest one.
 */
export async function explore(target: ScenarioTarget, options: ExploreOptions = {}): Promise<ExploreReport> {
  const started = Date.now();
  const faults = { ...ALL_FAULTS, ...options.faults };
  const depth = options.depth ?? 8;
  const maxPaths = options.maxPaths ?? 500;
  const seed = options.seed ?? 1;
  const next = seededRandom(seed);
  const logger = options.logger ?? createLogger({ level: 'silent' });
  const clock = new VirtualClock();
  const calls = new CallLog();
  const agents = agentsIn(target as Hostable);
  let world: World | null = null;
  const decide: Decide = (at, choices) => world!.decide(at, choices);
  const scripts = new Map<string, AgentScript>();
  for (const [id, agent] of agents) {
    const given = id === target.id ? { ...options.agents?.[id], ...(options.model ? { model: options.model } : {}), ...(options.tools ? { tools: options.tools } : {}) } : options.agents?.[id];
    const base = given?.model ? modelOf(given.model) : agentOptionsOf(agent)!.model;
    scripts.set(id, { model: faultModel(base, decide, () => world!, faults.model), ...(given?.tools ? { tools: given.tools } : {}) });
  }
  const rebuilt = rebuildHostable(target as Hostable, { scripts, now: clock.now, logger, calls });
  if (options.upgradeTo && options.upgradeTo.id !== target.id) throw new TypeError(`upgradeTo must be a version of ${target.id}, not ${options.upgradeTo.id}`);
  const upgraded = options.upgradeTo ? rebuildHostable(options.upgradeTo as Hostable, { scripts, now: clock.now, logger, calls }) : rebuilt;
  const rebuiltAgents = agentsIn(rebuilt);
  const machines = new Map([...rebuiltAgents].map(([id, a]) => [id, a.machine as never]));
  if (rebuilt !== (rebuiltAgents.get(target.id) as unknown)) machines.set(target.id, (rebuilt as unknown as { machine: never }).machine);
  const coverage = new CoverageTracker(machines);
  calls.faults = {
    fault: (def: ToolDefinition, ctx: ToolContext): ToolFault | null => {
      const pick = decide(`${ctx.runId}/tool/${def.name}/${ctx.step}/${ctx.attempt}`, toolFaults(def.sideEffect, faults.tools)) as ToolFaultName;
      if (pick === 'ok') return null;
      if (pick === 'retryable') return { retryable: 'explored: retryable failure' };
      if (pick === 'fatal') return { fatal: 'explored: fatal failure' };
      return pick;
    },
    onCrash: () => world!.requestCrash(),
  };

  const replay = options.replay ?? (process.env.REINS_EXPLORE_REPLAY ? (JSON.parse(process.env.REINS_EXPLORE_REPLAY) as Choice[]) : null);
  const rootId = `${target.id}-explored`;
  const failures: ExploreFailure[] = [];
  const reached: Partial<Record<TerminalReason, readonly Choice[]>> = {};
  // The first path takes every default; each run's decision model is then walked along what that run did on it.
  const queue: Array<{ forced: readonly Choice[]; plan: readonly PlannedStep[] }> = [{ forced: replay ?? [], plan: [] }];
  let planned = replay !== null;
  let paths = 0;
  const restore = clock.install();
  try {
    while (queue.length > 0 && paths < maxPaths) {
      const { forced, plan } = queue.shift()!; 
      world = new World({ rebuilt, upgraded, rootId, clock, calls, logger, inspect: coverage.inspect, forced, plan, approvals: faults.approvals, horizonMs: options.horizonMs ?? 6 * 3_600_000, input: options.input, limits: options.limits });
      const { outcome, decisions } = await world.run();
      paths++;
      const path = decisions.filter((d) => d.pick !== d.choices[0]).map(({ at, pick }) => ({ at, pick }));
      const violations = outcome
        ? await checkPath({
            rootId,
            isPipeline: 'kind' in target,
            outcome,
            store: world.store,
            calls: calls.calls,
            agents: rebuiltAgents,
            forbid: options.forbid ?? [],
            tolerate: new Set(options.tolerate ?? []),
          })
        : [{ kind: 'outcome' as const, runId: rootId, message: world.stuck ?? 'the run did not end' }];
      for (const summary of await world.store.list({})) {
        const reason = summary.reason as TerminalReason | null;
        if (reason && (!reached[reason] || reached[reason]!.length > path.length)) reached[reason] = path;
      }
      await world.dispose();
      world = null;
      if (violations.length > 0) {
        failures.push({ violations, path, decisions: decisions.length, outcome, replay: `REINS_EXPLORE_REPLAY='${JSON.stringify(path)}' npx vitest run <this test file>` });
        if (options.stopAtFirstFailure !== false) break;
      }
      if (!planned) {
        planned = true;
        queue.push(...plansOf(rebuiltAgents, decisions, { faults, depth, enough: maxPaths - 1, next }).map((p) => ({ forced: [], plan: p.steps })));
      }
    }
  } finally {
    // A path that threw leaves its world open.
    await (world as World | null)?.dispose();
    await realTurn();
    restore();
  }
  failures.sort((a, b) => a.path.length - b.path.length || a.decisions - b.decisions);
  const elapsedMs = Date.now() - started;
  const report: ExploreReport = {
    paths,
    seed,
    ok: failures.length === 0,
    failures,
    reached,
    coverage: coverage.report(),
    elapsedMs,
    pathsPerSecond: paths / Math.max(0.001, elapsedMs / 1000),
    format: () => formatReport(target.id, report),
  };
  return report;
}

/** The report as an engineer reads it in a test failure. */
function formatReport(id: string, r: ExploreReport): string {
  const c = r.coverage;
  const lines = [
    `explored ${r.paths} paths of ${id} (seed ${r.seed}) in ${r.elapsedMs} ms: ${r.pathsPerSecond.toFixed(0)} paths/s`,
    `coverage: states ${c.states.reached}/${c.states.total}, transitions ${c.transitions.reached}/${c.transitions.total}`,
    `reasons reached: ${Object.keys(r.reached).sort().join(', ')}`,
  ];
  const first = r.failures[0];
  if (!first) lines.push('no invariant broken');
  else {
    lines.push(`FAILED: ${first.violations.map((v) => `${v.kind}: ${v.message}`).join('; ')}`);
    lines.push(`shortest failing path (${first.path.length} fault${first.path.length === 1 ? '' : 's'}, ${first.decisions} decisions):`);
    for (const step of first.path) lines.push(`  ${step.at} -> ${step.pick}`);
    lines.push(`replay: ${first.replay}`);
  }
  return lines.join('\n');
}
