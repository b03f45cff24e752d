import type { z } from 'zod';
import { AGENT_MACHINE_ID } from '../machines/migrations/index.js';
import type { Limits } from '../guards/budget.js';
import type { AgentInput } from '../machines/agent-context.js';
import type { Command } from '../persistence/records.js';
import type { RunEnvironment } from './actors.js';
import { AgentRun, type AgentRunOptions, type HostedRun, type RunIdentity, type RunOrigin } from './agent-run.js';
import type { ChildRuns } from './child-runs.js';
import type { Agent } from './define-agent.js';
import { inert as inertMachine } from './offline-control.js';
import { agentFacts, type RunFacts } from './run-record.js';
import type { Versioning } from './stored-version.js';

/** What the host gives a run's actors: the agent environment (transcript, journal, trace, log, clock) and its children. */
export interface HostEnvironment extends RunEnvironment {
  /** Start-or-attach child runs, cancelled with this run. */
  readonly children: ChildRuns;
}

/** How a new run is asked for. */
export interface NewRunOptions {
  readonly runId: string;
  readonly input?: unknown;
  readonly seed?: number;
  readonly limits?: z.input<typeof Limits>;
}

/**
 * Everything the Supervisor needs to host one kind of durable run (an agent,
 * a pipeline), and nothing else: the hosting code (leases, writes, journal,
 * commands, recovery) is the same for every kind.
 */
export interface RunDefinition {
  readonly kind: 'agent' | 'pipeline';
  /** The registered id: runs are started and listed by it (`summary.agentId`). */
  readonly id: string;
  /** Stored in every envelope beside `version`; a run stored by another machine or version is migrated or refused, never guessed at. */
  readonly machineId: string;
  readonly version: string;
  /** The chart version, tools and migrations that decide which stored runs this definition hosts (see stored-version.ts). */
  readonly versioning: Versioning;
  /** Definitions this one starts as children; registered beside it. */
  readonly uses: readonly RunDefinition[];
  /** The operator commands runs of this kind take. */
  readonly commands: ReadonlySet<Command['type']>;
  /** The machine input of a new run. */
  initialInput(options: NewRunOptions): RunIdentity;
  /** A handle on a run bound to `env`; with `env` null every actor is inert (a probe, or an offline command): nothing is called. */
  handle(env: HostEnvironment | null, origin: RunOrigin<RunIdentity>, options: AgentRunOptions): HostedRun;
  /** What the stored summary says about a persisted snapshot. */
  facts(json: unknown): RunFacts;
}

/** Anything a Supervisor can host: an agent, or an object that carries its run definition (a pipeline). */
// Agents of any input type live side by side; their inputs are checked where runs start.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Hostable = Agent<any> | { readonly definition: RunDefinition };

export { AGENT_MACHINE_ID };
const AGENT_COMMANDS: ReadonlySet<Command['type']> = new Set(['PAUSE', 'RESUME', 'KILL', 'APPROVE', 'REJECT']);

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const agentDefinitions = new WeakMap<Agent<any>, RunDefinition>();

/** The run definition of an agent (one per agent object). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function agentDefinition(agent: Agent<any>): RunDefinition {
  let definition = agentDefinitions.get(agent);
  if (!definition) {
    let inert: ReturnType<typeof agent.chart.provide> | null = null;
    definition = {
      kind: 'agent',
      id: agent.id,
      machineId: AGENT_MACHINE_ID,
      version: agent.version,
      versioning: agent.versioning,
      uses: [],
      commands: AGENT_COMMANDS,
      initialInput: (o) => agent.initialInput(o),
      handle: (env, origin, options) => {
        if (!env) return new AgentRun((inert ??= inertMachine(agent.chart)), origin as RunOrigin<AgentInput>, options);
        const run = new AgentRun(agent.machine, origin as RunOrigin<AgentInput>, options);
        agent.bind(run.actor.system, env);
        return run;
      },
      facts: agentFacts,
    };
    agentDefinitions.set(agent, definition);
  }
  return definition;
}

/** The definition of anything hostable. */
export function definitionOf(hostable: Hostable): RunDefinition {
  return 'definition' in hostable ? hostable.definition : agentDefinition(hostable);
}
