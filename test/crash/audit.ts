import { TerminalOutcome } from '../../machines/outcome.js';
import type { SnapshotStore } from '../../persistence/store.js';
import { CRASH_AGENTS, TOOL_CLASS, TOOL_TURNS, type CrashAgentId } from './agents.js';

/** What an uninterrupted run of each crash agent ends with. */
export type Baselines = Record<string, { reason: string; result: unknown; turns: number }>;

/** What the audit of one store found after every run was driven to its end. */
export interface AuditReport {
  runs: number;
  byReason: Record<string, number>;
  inDoubt: number;
  /** Idempotency keys whose effect counter is above 1. */
  duplicates: string[];
  /** (run, step) pairs with more than one effect across attempts. */
  doubleSteps: string[];
  /** Acknowledged runs (start() returned) missing from the store, or in it but not ended with a typed outcome. */
  lost: string[];
  /** Runs whose start() never returned (the worker died in it) but whose record is in the store, not ended. */
  stranded: string[];
  /** Everything else that is wrong, one line each. */
  problems: string[];
}

/**
 * Checks every run id against the store and the effect ledger: a typed
 * terminal outcome in the store; ACTION_IN_DOUBT only for a non-idempotent
 * tool without reconcile; every other run as an uninterrupted run ends; no
 * effect twice, and none missing for a call the run went past.
 */
export async function audit(
  store: SnapshotStore,
  runIds: ReadonlySet<string>,
  acknowledged: ReadonlySet<string>,
  effects: ReadonlyMap<string, number>,
  baselines: Baselines,
): Promise<AuditReport> {
  const report: AuditReport = { runs: 0, byReason: {}, inDoubt: 0, duplicates: [], doubleSteps: [], lost: [], stranded: [], problems: [] };
  for (const [key, n] of effects) if (n > 1) report.duplicates.push(`${key}=${n}`);
  // Effects per run and step, summed over attempts.
  const perStep = new Map<string, Map<number, number>>();
  for (const [key, n] of effects) {
    const [runId, step] = key.split(':');
    if (!runId || step === undefined) continue;
    const steps = perStep.get(runId) ?? new Map<number, number>();
    steps.set(Number(step), (steps.get(Number(step)) ?? 0) + n);
    perStep.set(runId, steps);
  }
  for (const [runId, steps] of perStep) for (const [step, n] of steps) if (n > 1) report.doubleSteps.push(`${runId}:${step}=${n}`);

  for (const runId of [...runIds].sort()) {
    const record = await store.load(runId);
    if (!record) {
      if (acknowledged.has(runId)) report.lost.push(`${runId}: started (acknowledged) but not in the store`);
      continue;
    }
    report.runs++;
    const parsed = TerminalOutcome.safeParse(record.outcome);
    if (record.summary.status !== 'done' || !parsed.success) {
      const listed = (await store.list({ status: record.summary.status })).some((s) => s.runId === runId);
      (acknowledged.has(runId) ? report.lost : report.stranded).push(
        `${runId}: ${record.summary.status} in ${record.summary.state} at v${record.version}, ${listed ? 'listed' : 'NOT listed'} as ${record.summary.status}`,
      );
      continue;
    }
    const outcome = parsed.data;
    report.byReason[outcome.reason] = (report.byReason[outcome.reason] ?? 0) + 1;
    if (record.summary.reason !== outcome.reason) report.problems.push(`${runId}: summary says ${record.summary.reason}, outcome ${outcome.reason}`);
    const agentId = record.summary.agentId as CrashAgentId;
    if (!CRASH_AGENTS.includes(agentId)) {
      report.problems.push(`${runId}: unexpected agent ${agentId}`);
      continue;
    }
    const cls = TOOL_CLASS[agentId];
    const steps = [...(perStep.get(runId) ?? new Map<number, number>()).entries()].sort((a, b) => a[0] - b[0]);
    if (outcome.reason === 'ACTION_IN_DOUBT') {
      report.inDoubt++;
      if (cls.sideEffect !== 'non-idempotent' || cls.reconcile) {
        report.problems.push(`${runId}: ACTION_IN_DOUBT for ${agentId}, whose tool is ${cls.sideEffect}${cls.reconcile ? ' with reconcile' : ''}`);
      }
      // Calls before the one in doubt each took effect once; nothing after it ran.
      const doubtStep = Number(outcome.idempotencyKey.split(':')[1]);
      const before = steps.filter(([s]) => s < doubtStep);
      if (before.length !== outcome.turns - 1 || before.some(([, n]) => n !== 1)) report.problems.push(`${runId}: effects before the call in doubt: ${JSON.stringify(before)} (turns ${outcome.turns})`);
      if (steps.some(([s]) => s > doubtStep)) report.problems.push(`${runId}: effects after the call in doubt: ${JSON.stringify(steps)}`);
      continue;
    }
    const base = baselines[agentId];
    if (!base || outcome.reason !== base.reason || (outcome.reason === 'COMPLETED' && JSON.stringify(outcome.result) !== JSON.stringify(base.result)) || outcome.turns !== base.turns) {
      report.problems.push(`${runId}: ${agentId} ended ${JSON.stringify(outcome).slice(0, 400)}; uninterrupted: ${JSON.stringify(base)}`);
      continue;
    }
    const expectedEffects = cls.sideEffect === 'none' ? 0 : TOOL_TURNS;
    if (steps.length !== expectedEffects || steps.some(([, n]) => n !== 1)) {
      report.problems.push(`${runId}: ${agentId} completed with effects per step ${JSON.stringify(steps)} (expected ${expectedEffects} steps, one effect each)`);
    }
  }
  return report;
}
