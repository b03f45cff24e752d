/**
 * Agent chart v1 (the chart of 886ebc7) to v2 (the common turn in three
 * microsteps). v2 adds transitions (planning's done event straight to acting,
 * a tool's success straight to afterCall, afterCall straight to planning) and
 * moves the `phase` assignment of planning and acting from their entry into
 * the transitions that enter them. No state was renamed, moved or removed,
 * no context field changed shape, and timers keep their due times where they
 * were: a persisted v1 snapshot is a valid v2 snapshot, restored as is.
 * test/migrations/agent-v1-to-v2.test.ts restores snapshots captured from the
 * v1 chart and checks that they end exactly as v1 ended them.
 */

/** XState's persisted snapshot as a run's envelope stores it. */
export interface PersistedAgentSnapshot {
  readonly status: string;
  readonly value: unknown;
  readonly context: Record<string, unknown>;
  readonly [field: string]: unknown;
}

/** The step from agent chart v1 to v2, in the shape of a chart migration (machine id, from, description, up). */
export const AGENT_V1_TO_V2 = {
  machineId: 'reins.agent',
  from: 1,
  description: 'the common turn in three microsteps: new shortcut transitions; every v1 state, context field and due time kept',
  /** A v1 snapshot restores on v2 unchanged (see above). */
  up: (snapshot: PersistedAgentSnapshot): PersistedAgentSnapshot => snapshot,
} as const;
