/**
 * Which stored runs this process may host, and what it changes on the way:
 * reins' chart migrations (machines/migrations) first, then the agent's own
 * version rules. Everything else is refused with a typed error that names
 * the versions and what to do; nothing is guessed.
 *
 * The agent's version rules, in order:
 * - the same version: nothing to do;
 * - a record stored before envelopes named a chart version, whose version is
 *   what that release computed for this same definition: the same agent;
 * - both versions computed (no explicit `version`), and every tool the
 *   stored run's definition had is still here: tools were only added. A
 *   stored run never refers to a tool it was not offered, so it resumes and
 *   is simply offered more. A removed tool is refused: the run may hold a
 *   call to it, or be about to make one;
 * - a declared migration from the stored version (`migrate` on defineAgent).
 */
import { hashValue } from '../guards/action.js';
import type { AgentContext } from '../machines/agent-context.js';
import { applyChartSteps, chartPath, FIRST_CHART_VERSION, type ChartMigration, type PersistedSnapshot } from '../machines/migrations/index.js';
import type { RunRecord } from '../persistence/records.js';
import type { RunDefinition } from './run-definition.js';
import { AgentVersionError, ChartVersionError, MachineMismatchError } from './version-errors.js';

/** A stored agent run's persisted snapshot, with the agent's context typed. */
export interface AgentSnapshot extends PersistedSnapshot {
  readonly context: AgentContext & Record<string, unknown>;
}

/** How a run stored at an older version of an agent becomes one this version hosts. */
export interface AgentMigration {
  /** The stored version this migration takes runs from (to the agent's current version). */
  readonly from: string;
  /** The snapshot as this version restores it: context fields renamed or filled, a removed tool's pending call answered, … */
  readonly up: (snapshot: AgentSnapshot) => AgentSnapshot;
}

/** What a definition declares about the versions it hosts. */
export interface Versioning {
  /** The chart version of the machine it runs. */
  readonly chart: number;
  /** The tool names (agents), stored in each envelope so that a later definition can tell tools were only added; null for pipelines. */
  readonly tools: readonly string[] | null;
  /** The version the release before chart versions computed for this same definition; null when the version is explicit. */
  readonly legacy: string | null;
  readonly migrations: readonly AgentMigration[];
  /** reins' chart migrations this release ships (machines/migrations); a definition carries them so that a test can bring its own. */
  readonly chartMigrations: readonly ChartMigration[];
}

/** Computed versions carry this prefix; explicit ones may not. */
export const COMPUTED_PREFIX = 'auto:';

/** The version of a definition that declares none: a hash of what stored runs depend on (never of reins' chart, which has its own). */
export function computedVersion(value: unknown): string {
  return `${COMPUTED_PREFIX}${hashValue(value)}`;
}

/** Refuses an explicit version that could be taken for a computed one. */
export function checkExplicitVersion(owner: string, version: string): string {
  if (version.length === 0 || version.startsWith(COMPUTED_PREFIX)) throw new TypeError(`${owner}: an explicit version must be non-empty and not start with "${COMPUTED_PREFIX}"`);
  return version;
}

/** The envelope's `machine` field for a run of `def` stored now. */
export function machineOf(def: RunDefinition): RunRecord['machine'] {
  return { id: def.machineId, version: def.version, chart: def.versioning.chart, ...(def.versioning.tools ? { tools: [...def.versioning.tools] } : {}) };
}

/** A stored run brought to this process's definitions: the snapshot to restore and what was done to it. */
export interface StoredRunPlan {
  readonly snapshot: PersistedSnapshot | null;
  /** One line per change, in order (empty: stored by exactly this definition). */
  readonly steps: readonly string[];
}

/**
 * Brings a stored run to `def`: its chart migrated, its agent version taken
 * over by the rules above. Throws MachineMismatchError (another machine),
 * ChartVersionError or AgentVersionError.
 */
export function planStoredRun(record: RunRecord, def: RunDefinition): StoredRunPlan {
  const runId = record.summary.runId;
  const stored = record.machine;
  if (stored.id !== def.machineId) throw new MachineMismatchError(runId, stored, { id: def.machineId, version: def.version });
  const path = chartPath(def.versioning.chartMigrations, def.machineId, stored.chart ?? FIRST_CHART_VERSION, def.versioning.chart);
  if (!path.ok) throw new ChartVersionError(runId, def.machineId, stored.version, path.gap);
  const steps = path.steps.map((s) => `chart ${def.machineId} v${s.from} to v${s.from + 1}: ${s.description}`);
  let snapshot = record.snapshot === null ? null : applyChartSteps(record.snapshot as unknown as PersistedSnapshot, path.steps);
  if (stored.version === def.version) return { snapshot, steps };

  const { legacy, tools, migrations } = def.versioning;
  if (stored.chart === undefined && legacy !== null && stored.version === legacy) {
    return { snapshot, steps: [...steps, `version ${stored.version} to ${def.version}: the same definition, stored before chart versions`] };
  }
  const bothComputed = stored.version.startsWith(COMPUTED_PREFIX) && def.version.startsWith(COMPUTED_PREFIX);
  const removed = stored.tools && tools ? stored.tools.filter((t) => !tools.includes(t)) : null;
  if (bothComputed && removed !== null && removed.length === 0) {
    const added = tools!.filter((t) => !stored.tools!.includes(t));
    return { snapshot, steps: [...steps, `version ${stored.version} to ${def.version}: tools added (${added.join(', ')})`] };
  }
  const migration = migrations.find((m) => m.from === stored.version);
  if (migration) {
    if (snapshot !== null) snapshot = migration.up(snapshot as AgentSnapshot);
    return { snapshot, steps: [...steps, `migrate ${def.id} from version ${stored.version} to ${def.version}`] };
  }
  throw new AgentVersionError(runId, def.id, stored.version, def.version, refusal(stored, def, removed));
}

/** What to do about a run no rule takes over, in one sentence. */
function refusal(stored: RunRecord['machine'], def: RunDefinition, removed: readonly string[] | null): string {
  const drain = `or keep a worker with version ${stored.version} running until those runs end`;
  if (removed && removed.length > 0) {
    return `tools ${removed.join(', ')} were removed, and a stored run may hold or be about to make a call to them; set an explicit version with \`migrate: { from: '${stored.version}', up }\` that answers such calls, ${drain}`;
  }
  if (stored.chart === undefined && stored.version.length === 16) {
    return `it was stored before chart versions by a definition with other tools; set \`version\` and \`migrate: { from: '${stored.version}', up }\`, ${drain}`;
  }
  return `declare \`migrate: { from: '${stored.version}', up }\` on ${def.id}, ${drain}`;
}
