import { actionLabel, hashValue, type ActionRecord } from '../../guards/action.js';
import { budgetBreach, Limits } from '../../guards/budget.js';
import { detectLoop, LoopPolicy } from '../../guards/loop.js';
import { ZERO_USAGE, type Usage } from '../../guards/usage.js';
import { median } from '../lib/stats.js';

/** Workload 6, the guards alone: what the loop detector and the budget check cost per turn at one window size. */
export interface GuardCost {
  readonly window: number;
  /** µs per turn: building the action record (two hashes, a label), appending it to the bounded window, detectLoop, budgetBreach. */
  readonly usPerTurn: number;
  /** µs per turn of detectLoop alone. */
  readonly loopUs: number;
  /** µs per turn of budgetBreach alone. */
  readonly budgetUs: number;
}

/** The same work the lifecycle machine does after each tool call and before each model call, on echo-like calls that never loop. */
function turns(window: number, count: number) {
  const policy = LoopPolicy.parse({ window });
  const limits = Limits.parse({ maxTurns: 1e9, maxInputTokens: 1e12, maxOutputTokens: 1e12, maxTotalTokens: 1e12, maxCostUsd: 1e9 });
  let usage: Usage = { ...ZERO_USAGE };
  let history: ActionRecord[] = [];
  let loopNs = 0;
  let budgetNs = 0;
  let sink = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    const args = { i };
    const action: ActionRecord = { step: i, tool: 'echo', argsHash: hashValue(args), resultHash: hashValue(args), ok: true, label: actionLabel('echo', JSON.stringify(args)) };
    const next = [...history, action];
    history = next.length > window ? next.slice(next.length - window) : next;
    const l0 = process.hrtime.bigint();
    if (detectLoop(history, policy).looping) sink++;
    const l1 = process.hrtime.bigint();
    usage = { ...usage, turns: usage.turns + 1, inputTokens: usage.inputTokens + 10, outputTokens: usage.outputTokens + 5 };
    if (budgetBreach(usage, limits) !== null) sink++;
    const l2 = process.hrtime.bigint();
    loopNs += Number(l1 - l0);
    budgetNs += Number(l2 - l1);
  }
  const totalNs = Number(process.hrtime.bigint() - t0);
  if (sink > 0) throw new Error('the guard benchmark looped or breached: its inputs are wrong');
  return { usPerTurn: totalNs / count / 1000, loopUs: loopNs / count / 1000, budgetUs: budgetNs / count / 1000 };
}

/** Each window size: a warm-up pass, then `repeats` passes of `count` turns, medians. */
export function guardCosts(windows: readonly number[], count: number, repeats: number): GuardCost[] {
  return windows.map((window) => {
    turns(window, Math.min(count, 2_000));
    const runs = Array.from({ length: repeats }, () => turns(window, count));
    return {
      window,
      usPerTurn: median(runs.map((r) => r.usPerTurn)),
      loopUs: median(runs.map((r) => r.loopUs)),
      budgetUs: median(runs.map((r) => r.budgetUs)),
    };
  });
}
