import { chartPath, FIRST_CHART_VERSION } from '../../machines/migrations/index.js';
import type { RunRecord } from '../../persistence/records.js';
import type { RunDefinition } from '../run-definition.js';
import type { SliceRoute } from './queue-keys.js';

/** The route of a stored run: its agent (or pipeline) id, and the agent and chart versions it was stored by. */
export function routeOf(record: RunRecord): SliceRoute {
  return { agentId: record.summary.agentId, version: record.machine.version, chart: record.machine.chart ?? FIRST_CHART_VERSION };
}

/** The routes a worker serves for one definition: the runs it stores (`native`), and older ones it brings to its version on the way (`adopted`). */
export interface DefinitionRoutes {
  readonly native: SliceRoute;
  readonly adopted: readonly SliceRoute[];
}

/**
 * What a definition hosts, by route. Natively: its own agent and chart
 * version. Adopted: every older version it declares a way from, by name (a
 * `migrate: { from }`, or the version the release before chart versions
 * computed for it), at every older chart version this release's chart
 * migrations reach. An agent whose computed version only gained tools also
 * hosts the runs of the version before, but cannot name it (it is a hash of
 * the old tool list): those runs drain on the workers that store them.
 */
export function routesOf(def: RunDefinition): DefinitionRoutes {
  const { chart, migrations, legacy, chartMigrations } = def.versioning;
  const native: SliceRoute = { agentId: def.id, version: def.version, chart };
  const charts = [chart];
  for (let older = FIRST_CHART_VERSION; older < chart; older++) if (chartPath(chartMigrations, def.machineId, older, chart).ok) charts.push(older);
  const versions = [def.version, ...migrations.map((m) => m.from)];
  const adopted = versions.flatMap((version) => charts.map((c) => ({ agentId: def.id, version, chart: c }))).filter((r) => r.version !== def.version || r.chart !== chart);
  // Records from before chart versions exist only at chart 1, under the version that release computed.
  if (legacy !== null && legacy !== def.version) adopted.push({ agentId: def.id, version: legacy, chart: FIRST_CHART_VERSION });
  return { native, adopted };
}
