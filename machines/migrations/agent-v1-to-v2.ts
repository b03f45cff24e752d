import type { ChartMigration, PersistedSnapshot } from './chart-migration.js';

/**
 * Agent chart v1 (the chart of the previous release) to v2.
 *
 * v2 takes the common turn in three microsteps: new transitions (planning's
 * done event straight to acting, a tool's success straight to afterCall,
 * afterCall straight to planning), with the `phase` assignment of planning and
 * acting moved from their entry into the transitions that enter them. It also
 * checks answers before COMPLETED (the `verifying` and `verified` states and
 * the `resultRejected` final state), which adds the context field
 * `verification`. No state was renamed, moved or removed and timers keep their
 * due times where they were, so a v1 snapshot needs only the new field: a run
 * stored by v1 has checked no answer yet.
 * test/fixtures/resume-previous.test.ts resumes the previous release's stored
 * runs through it.
 */
export const AGENT_V1_TO_V2: ChartMigration = {
  machineId: 'reins.agent',
  from: 1,
  description: 'the common turn in three microsteps; answers verified before COMPLETED (context.verification added, empty)',
  up: (snapshot: PersistedSnapshot): PersistedSnapshot => ({
    ...snapshot,
    context: { ...snapshot.context, verification: snapshot.context['verification'] ?? { attempts: 0, reasons: [], last: null, tokens: 0 } },
  }),
};
