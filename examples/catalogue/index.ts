/**
 * The catalogue pipeline on the embedded store, start to finish:
 *
 *   npx tsx examples/catalogue/index.ts [--store <folder>] [--product <name>]
 *
 * Runs durably on a FileStore (`.reins` by default, so `npx reins ps` and
 * `npx reins show <run>` see the pipeline and its children), then prints the
 * typed outcome of the pipeline and of every child run.
 */
import { parseArgs } from 'node:util';
import { createLogger, Supervisor, TerminalOutcome, type PipelineRun } from '../../index.js';
import { FileStore } from '../../persistence/file-store.js';
import type { RunSummary, SnapshotStore } from '../../persistence/index.js';
import { catalogue, type Brief } from './pipeline.js';

/** One child's line: its run, what it was for, its reason and the evidence that matters. */
export interface ChildLine {
  readonly runId: string;
  readonly agentId: string;
  readonly key: string;
  readonly outcome: TerminalOutcome;
}

/** The evidence an operator reads first, per reason. */
export function evidence(outcome: TerminalOutcome): string {
  switch (outcome.reason) {
    case 'COMPLETED': {
      const text = JSON.stringify(outcome.result);
      return text.length > 90 ? `${text.slice(0, 89)}…` : text;
    }
    case 'TOOL_FAILURE':
      return `${outcome.tool}: ${outcome.message}`;
    case 'ESCALATED':
      return outcome.why;
    case 'USER_KILLED':
      return `${outcome.by}: ${outcome.why}`;
    case 'TIMEOUT':
      return `deadline ${outcome.deadlineMs} ms in ${outcome.state}`;
    case 'INTERNAL_ERROR':
      return `${outcome.where}: ${outcome.error.message}`;
    default:
      return '';
  }
}

/** Every child of a run, oldest first, with its stored typed outcome. */
export async function childrenOf(store: SnapshotStore, run: PipelineRun | string): Promise<ChildLine[]> {
  const parentId = typeof run === 'string' ? run : run.runId;
  // Every stage result is in the pipeline's trace: which child ran for which item (key).
  const keys = new Map<string, string>();
  for (const entry of await store.traceRead(parentId)) {
    if (entry.kind !== 'stage') continue;
    for (const c of entry.children as Array<{ childRunId: string; key: string }>) keys.set(c.childRunId, c.key);
  }
  // In the order the stages ran them; a child no stage result names yet (cancelled mid-stage) comes after, oldest first.
  const order = [...keys.keys()];
  const rank = (id: string) => (order.includes(id) ? order.indexOf(id) : order.length);
  const summaries: RunSummary[] = (await store.list({ parentId })).sort((a, b) => rank(a.runId) - rank(b.runId) || a.createdAt - b.createdAt);
  const lines: ChildLine[] = [];
  for (const s of summaries) {
    const record = await store.load(s.runId);
    const outcome = TerminalOutcome.parse(record?.outcome);
    lines.push({ runId: s.runId, agentId: s.agentId, key: keys.get(s.runId) ?? '', outcome });
  }
  return lines;
}

/** Runs one catalogue and prints the typed outcomes; returns them for tests. */
export async function main(
  argv: readonly string[] = process.argv.slice(2),
  print: (line: string) => void = console.log,
): Promise<{ outcome: TerminalOutcome; children: ChildLine[] }> {
  const { values } = parseArgs({ args: [...argv], options: { store: { type: 'string', default: '.reins' }, product: { type: 'string', default: 'Trail Runner 2' } } });
  const store = await FileStore.open(values.store);
  const supervisor = await Supervisor.open({ store, agents: [catalogue], logger: createLogger() });
  try {
    const brief: Brief = { product: values.product, shots: ['hero', 'side', 'sole', 'lifestyle'] };
    const runId = `catalogue-${Date.now().toString(36)}`;
    print(`catalogue pipeline ${runId} on ${values.store}: ${brief.product}, shots ${brief.shots.join(', ')}`);
    const run = await supervisor.start(catalogue, { runId, input: brief });
    let stage = '';
    run.onStatus((s) => {
      if (s.state !== stage && s.status !== 'done') print(`  stage ${s.state} (step ${s.step})`);
      stage = s.state;
    });
    const outcome = await run.outcome;
    const children = await childrenOf(store, run);

    print('');
    print(`children (${children.length}), each a durable run with its own record, journal and trace:`);
    const width = Math.max(...children.map((c) => c.runId.length));
    for (const c of children) {
      print(`  ${c.runId.padEnd(width)}  ${c.agentId.padEnd(9)}  ${c.key.padEnd(9)}  ${c.outcome.reason.padEnd(12)}  ${evidence(c.outcome)}`);
    }
    print('');
    print(`pipeline ${runId}: ${outcome.reason}${outcome.stage ? ` (stage ${outcome.stage}${outcome.childRunId ? `, child ${outcome.childRunId}` : ''})` : ''}`);
    print(JSON.stringify(outcome, null, 2));
    print('');
    print(`see it again: npx reins show ${runId}${values.store === '.reins' ? '' : ` --store ${values.store}`}`);
    return { outcome, children };
  } finally {
    await supervisor.close();
    await store.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error: unknown) => {
    console.error((error as Error).message);
    process.exitCode = 1;
  });
}
