import { fromPromise } from 'xstate';
import { ZERO_USAGE } from '../guards/usage.js';
import { toErrorInfo, type TerminalOutcome } from '../machines/outcome.js';
import { policyName, type ChildResult, type StageResult, type StageRun } from '../machines/pipeline-context.js';
import { ChildNotStartedError, ScopeDetachedError, type ChildRuns } from './child-runs.js';
import { fanOut } from './fan-out.js';

/**
 * Runs one stage: its children fanned out under the stage's policy and
 * concurrency limit, each started or re-attached by id through `children`.
 * Resolves with every child's attributed outcome once all started children
 * are terminal. The signal aborts when the pipeline leaves the stage (killed,
 * timed out): every running child is then killed, and waited for.
 */
export async function runStage(run: StageRun, children: ChildRuns, signal: AbortSignal): Promise<StageResult> {
  const plans = run.children;
  const report = await fanOut(
    plans.map((plan) => (childSignal: AbortSignal) =>
      children.run({ runId: plan.childRunId, agentId: run.agentId, input: plan.input, ...(plan.limits ? { limits: plan.limits } : {}) }, childSignal),
    ),
    {
      policy: run.policy,
      concurrency: run.concurrency,
      signal,
      failed: (outcome) => outcome.reason !== 'COMPLETED',
      label: (i) => plans[i]!.childRunId,
      explain: (outcome) => `ended ${outcome.reason}`,
    },
  );
  const results: ChildResult[] = [];
  const skipped: StageResult['skipped'] = [];
  for (const s of report.settlements) {
    const plan = plans[s.index]!;
    const ref = { stage: run.stage, index: s.index, key: plan.key, childRunId: plan.childRunId };
    if (s.status === 'skipped' || (s.status === 'rejected' && s.error instanceof ChildNotStartedError)) {
      skipped.push({ index: s.index, key: plan.key });
      continue;
    }
    // The pipeline is no longer hosted here: what this stage came to is for its next owner to find out.
    if (s.status === 'rejected' && s.error instanceof ScopeDetachedError) throw s.error;
    const outcome: TerminalOutcome =
      s.status === 'fulfilled'
        ? s.value
        : { reason: 'INTERNAL_ERROR', runId: plan.childRunId, agentId: run.agentId, turns: 0, usage: ZERO_USAGE, endedAt: Date.now(), where: 'stage', error: toErrorInfo(s.error) };
    results.push({ ...ref, agentId: run.agentId, visit: run.visit, outcome, cancelled: s.cancelled });
  }
  const decided = report.decidedBy === null ? null : plans[report.decidedBy]!;
  return {
    stage: run.stage,
    visit: run.visit,
    policy: run.policy,
    status: report.status === 'succeeded' ? 'succeeded' : 'failed',
    children: results,
    skipped,
    decidedBy: decided && { stage: run.stage, index: decided.index, key: decided.key, childRunId: decided.childRunId },
    why: report.status === 'succeeded' ? null : `stage ${run.stage} (${policyName(run.policy)}): ${report.why ?? 'failed'}`,
  };
}

/** The stage actor of a hosted pipeline, bound to its children; every stage result also goes to the pipeline's trace. */
export function stageActor(children: ChildRuns, trace?: (entry: { at: number; kind: 'stage'; [key: string]: unknown }) => void) {
  return fromPromise<StageResult, StageRun>(async ({ input, signal }) => {
    const result = await runStage(input, children, signal);
    trace?.({
      at: Date.now(),
      kind: 'stage',
      stage: result.stage,
      visit: result.visit,
      policy: policyName(result.policy),
      status: result.status,
      children: result.children.map((c) => ({ childRunId: c.childRunId, key: c.key, reason: c.outcome.reason, cancelled: c.cancelled })),
      skipped: result.skipped,
      decidedBy: result.decidedBy?.childRunId ?? null,
      why: result.why,
    });
    return result;
  });
}
