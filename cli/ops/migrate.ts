/**
 * `reins migrate`: which stored runs this process's definitions would
 * refuse, and which migration takes each of the others over; applied one run
 * at a time under its lease, compare-and-set, so a worker that holds a run
 * is never written over.
 */
import { definitionOf, type Hostable, type RunDefinition } from '../../agents/run-definition.js';
import { recordFrom } from '../../agents/run-record.js';
import { machineOf, planStoredRun, type StoredRunPlan } from '../../agents/stored-version.js';
import { MachineMismatchError } from '../../agents/version-errors.js';
import { commitOf } from '../../persistence/commit.js';
import type { RunRecord } from '../../persistence/records.js';
import type { SnapshotStore } from '../../persistence/store.js';

/** What becomes of one stored run under this process's definitions. */
export type MigrationVerdict = 'current' | 'migrate' | 'refused' | 'unknown-agent';

/** One stored run in a migration plan. */
export interface MigrationItem {
  readonly runId: string;
  readonly agentId: string;
  /** The envelope's machine, version and chart as stored. */
  readonly stored: string;
  readonly verdict: MigrationVerdict;
  /** The steps that take it over (verdict migrate), or why it is refused. */
  readonly detail: readonly string[];
}

/** What applying did to one run: migrated, already current, refused, or held by a live worker (left alone). */
export type AppliedOutcome = 'migrated' | 'current' | 'refused' | 'unknown-agent' | 'busy';

/** How long `reins migrate` holds a run's lease while it rewrites it. */
const LEASE_MS = 30_000;

/** The definitions by id, pipelines' stage agents included. */
function definitionsById(hostables: readonly Hostable[]): Map<string, RunDefinition> {
  const byId = new Map<string, RunDefinition>();
  const add = (def: RunDefinition) => {
    byId.set(def.id, def);
    def.uses.forEach(add);
  };
  hostables.map(definitionOf).forEach(add);
  return byId;
}

function storedLabel(record: RunRecord): string {
  return `${record.machine.id} chart v${record.machine.chart ?? 1}, version ${record.machine.version}`;
}

/** Judges one stored run (no I/O): the item to report and, when it migrates, the snapshot it becomes. */
function judge(record: RunRecord, def: RunDefinition | undefined): { item: MigrationItem; plan: StoredRunPlan | null } {
  const base = { runId: record.summary.runId, agentId: record.summary.agentId, stored: storedLabel(record) };
  if (!def) return { item: { ...base, verdict: 'unknown-agent', detail: [`no definition named ${record.summary.agentId} is loaded (--agents)`] }, plan: null };
  try {
    const plan = planStoredRun(record, def);
    return { item: { ...base, verdict: plan.steps.length === 0 ? 'current' : 'migrate', detail: plan.steps }, plan };
  } catch (error) {
    if (error instanceof MachineMismatchError) return { item: { ...base, verdict: 'refused', detail: [error.message] }, plan: null };
    throw error;
  }
}

/** Every stored run that has not ended (running or paused), with what the definitions would do with it. */
export async function planMigrations(store: SnapshotStore, hostables: readonly Hostable[]): Promise<MigrationItem[]> {
  const defs = definitionsById(hostables);
  const items: MigrationItem[] = [];
  for (const status of ['running', 'paused'] as const) {
    for (const summary of await store.list({ status })) {
      const record = await store.load(summary.runId);
      if (record && record.summary.status !== 'done') items.push(judge(record, defs.get(record.summary.agentId)).item);
    }
  }
  return items;
}

/**
 * Migrates one stored run: takes its lease (a run a live worker holds is
 * left alone: 'busy'), reads it under the lease, and stores the migrated
 * snapshot at the next version with the current envelope, fenced by that
 * lease; the steps go to the run's trace.
 */
export async function applyMigration(store: SnapshotStore, hostables: readonly Hostable[], runId: string, owner: string): Promise<AppliedOutcome> {
  const lease = await store.acquireLease(runId, owner, LEASE_MS);
  if (!lease) return 'busy';
  try {
    const record = await store.load(runId);
    if (!record || record.summary.status === 'done' || record.snapshot === null) return 'current';
    const def = definitionsById(hostables).get(record.summary.agentId);
    const { item, plan } = judge(record, def);
    if (item.verdict !== 'migrate') return item.verdict;
    const now = Date.now();
    const next = recordFrom(plan!.snapshot as never, { machine: machineOf(def!), version: record.version + 1, createdAt: record.summary.createdAt, now, parentId: record.summary.parentId }, def!.facts);
    await store.commit(commitOf(runId, { record: next, trace: [{ at: now, kind: 'upgrade', steps: [...item.detail], by: owner }] }), { leaseToken: lease.token });
    return 'migrated';
  } finally {
    await store.releaseLease(runId, lease);
  }
}
