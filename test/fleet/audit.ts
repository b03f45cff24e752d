import { TerminalOutcome } from '../../machines/outcome.js';
import type { SnapshotStore } from '../../persistence/store.js';
import { CYCLE, FLEET_TURNS, readLedger } from './agents.js';

/** What the fleet audit found. */
export interface FleetAudit {
  readonly byReason: Record<string, number>;
  /** Runs not in a typed final state. */
  readonly unfinished: string[];
  /** Logical calls whose effect happened more than once, or never though the run went past them. */
  readonly wrongEffects: string[];
  /** Commits landed with a lease token lower than one that had already written the run (a second host). */
  readonly fencingViolations: string[];
  /** Runs that were written under more than one lease (taken over after a kill, or sliced). */
  readonly changedHands: number;
}

/**
 * Checks each `turns` run against the store and the ledger: COMPLETED after
 * FLEET_TURNS calls, each `charge` applied exactly once and each `put` at
 * least once per logical call (the system deduplicates it), and a run's
 * commits in token order (the `fence` trace entries of worker-process.ts).
 */
export async function auditTurns(store: SnapshotStore, runIds: readonly string[], ledgerDir: string): Promise<FleetAudit> {
  const ledger = readLedger(ledgerDir);
  const audit = { byReason: {} as Record<string, number>, unfinished: [] as string[], wrongEffects: [] as string[], fencingViolations: [] as string[], changedHands: 0 };
  for (const runId of runIds) {
    const record = await store.load(runId);
    const outcome = TerminalOutcome.safeParse(record?.outcome);
    if (!record || record.summary.status !== 'done' || !outcome.success) {
      audit.unfinished.push(`${runId}: ${record ? `${record.summary.status} in ${record.summary.state} v${record.version}` : 'missing'}`);
      continue;
    }
    audit.byReason[outcome.data.reason] = (audit.byReason[outcome.data.reason] ?? 0) + 1;
    for (let turn = 1; turn <= FLEET_TURNS; turn++) {
      const tool = CYCLE[(turn - 1) % CYCLE.length];
      const seen = ledger.get(`${runId}|t${turn}`) ?? { apply: 0, once: 0 };
      if (tool === 'charge' && seen.apply !== 1) audit.wrongEffects.push(`${runId} t${turn} charged ${seen.apply} times`);
      if (tool === 'put' && (seen.once < 1 || seen.apply > 0)) audit.wrongEffects.push(`${runId} t${turn} put ${JSON.stringify(seen)}`);
    }
    const fences = await fenceAudit(store, runId);
    audit.fencingViolations.push(...fences.violations);
    if (fences.hosts > 1) audit.changedHands++;
  }
  return audit;
}

/** A run's commits in token order (the `fence` trace entries of worker-process.ts): violations, and how many leases wrote it. */
export async function fenceAudit(store: SnapshotStore, runId: string): Promise<{ violations: string[]; hosts: number }> {
  const tokens = (await store.traceRead(runId)).filter((e) => e.kind === 'fence').map((e) => Number(e.token));
  const violations: string[] = [];
  let highest = 0;
  for (const token of tokens) {
    if (token < highest) violations.push(`${runId}: a commit under token ${token} after one under ${highest}`);
    highest = Math.max(highest, token);
  }
  return { violations, hosts: new Set(tokens).size };
}
