/**
 * reins' own chart versions and the registry of their migrations.
 *
 * Every stored run's envelope names the chart version that stored it
 * (`machine.chart`; records from before chart versions existed are chart 1).
 * On rehydration a run stored by an older chart is brought to the current
 * one by the registered steps, one version at a time; a run no step covers is
 * refused with ChartVersionError, never guessed at.
 *
 * Changing the lifecycle or the pipeline chart in a way a stored snapshot
 * would notice (a state renamed, moved or removed; a context field added,
 * renamed or reshaped; a timer's due time kept elsewhere) means:
 *   1. bump its entry in CHART_VERSIONS;
 *   2. add machines/migrations/<chart>-v<N>-to-v<N+1>.ts exporting a
 *      ChartMigration and list it in CHART_MIGRATIONS below;
 *   3. capture the new fixtures (npx tsx test/fixtures/capture.ts chart-v<N+1>)
 *      and keep the old ones: test/fixtures/resume-previous.test.ts resumes
 *      every generation. docs/deploying.md walks through it.
 */
import { AGENT_V1_TO_V2 } from './agent-v1-to-v2.js';
import type { ChartMigration } from './chart-migration.js';

export { applyChartSteps, chartPath, type ChartGap, type ChartMigration, type PersistedSnapshot } from './chart-migration.js';

/** The machine id in every agent run's envelope. */
export const AGENT_MACHINE_ID = 'reins.agent';
/** The machine id in every pipeline run's envelope. */
export const PIPELINE_MACHINE_ID = 'reins.pipeline';

/** The chart version of this release, per machine id. */
export const CHART_VERSIONS: Readonly<Record<string, number>> = {
  [AGENT_MACHINE_ID]: 2,
  [PIPELINE_MACHINE_ID]: 1,
};

/** The chart version a record stored before envelopes named one was stored by. */
export const FIRST_CHART_VERSION = 1;

/** Every chart migration this release ships, oldest first. */
export const CHART_MIGRATIONS: readonly ChartMigration[] = [AGENT_V1_TO_V2];
