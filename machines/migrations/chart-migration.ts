/**
 * A migration of reins' own charts: how a persisted snapshot stored by chart
 * version N of the lifecycle (or pipeline) chart becomes one that chart
 * version N + 1 restores. Pure data in, data out: machines do no I/O.
 */

/**
 * XState's persisted snapshot as stored in a run's envelope: the active
 * state value, the context (timers keep their due times here, re-armed after
 * every restore), the invoked children, history, status.
 */
export interface PersistedSnapshot {
  readonly status: string;
  readonly value: unknown;
  readonly context: Record<string, unknown>;
  readonly children?: Record<string, unknown>;
  readonly historyValue?: Record<string, unknown>;
  readonly [field: string]: unknown;
}

/** One step of a chart's history: chart `machineId` at version `from` to `from + 1`. */
export interface ChartMigration {
  /** The machine id in the envelope (reins.agent, reins.pipeline). */
  readonly machineId: string;
  readonly from: number;
  /** What changed, for `reins migrate --dry-run` and the run's trace. */
  readonly description: string;
  /** The snapshot as the next chart version restores it: rename states, add or reshape context fields, move due times. */
  up(snapshot: PersistedSnapshot): PersistedSnapshot;
}

/** Why a stored chart version cannot be brought to this release's: the run was stored by a newer release, or a step is missing. */
export type ChartGap =
  | { readonly kind: 'newer'; readonly stored: number; readonly current: number }
  | { readonly kind: 'missing-step'; readonly stored: number; readonly current: number; readonly missingFrom: number };

/** The migrations that take `machineId` from `stored` to `current`, in order, or why there are none. */
export function chartPath(
  migrations: readonly ChartMigration[],
  machineId: string,
  stored: number,
  current: number,
): { readonly ok: true; readonly steps: readonly ChartMigration[] } | { readonly ok: false; readonly gap: ChartGap } {
  if (stored > current) return { ok: false, gap: { kind: 'newer', stored, current } };
  const steps: ChartMigration[] = [];
  for (let at = stored; at < current; at++) {
    const step = migrations.find((m) => m.machineId === machineId && m.from === at);
    if (!step) return { ok: false, gap: { kind: 'missing-step', stored, current, missingFrom: at } };
    steps.push(step);
  }
  return { ok: true, steps };
}

/** Applies `steps` in order; each sees what the previous one returned. */
export function applyChartSteps(snapshot: PersistedSnapshot, steps: readonly ChartMigration[]): PersistedSnapshot {
  return steps.reduce((s, step) => step.up(s), snapshot);
}
