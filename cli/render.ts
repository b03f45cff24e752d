import type { BudgetUse, RunStatus } from '../agents/status.js';
import type { OperatorAction } from '../examples/fleet/operator.js';
import { groupOf, TERMINAL_REASONS, type OutcomeGroup, type TerminalOutcome, type TerminalReason } from '../machines/outcome.js';

/** Colours for a terminal, or none: pipes and CI logs get plain text, and so does anyone who sets NO_COLOR. */
export interface Paint {
  group(group: OutcomeGroup, text: string): string;
  dim(text: string): string;
  bold(text: string): string;
}

const sgr = (code: number) => (text: string) => `\x1b[${code}m${text}\x1b[0m`;
const GROUP_SGR: Record<OutcomeGroup, (text: string) => string> = { healthy: sgr(32), exhausted: sgr(33), broken: sgr(31) };

/** ANSI colours when `enabled`, identity otherwise. */
export function paint(enabled: boolean): Paint {
  if (!enabled) return { group: (_g, t) => t, dim: (t) => t, bold: (t) => t };
  return { group: (g, t) => GROUP_SGR[g](t), dim: sgr(2), bold: sgr(1) };
}

/** One row of the live table: a scenario's run id and agent, and its status once it has started. */
export interface LiveRow {
  readonly runId: string;
  readonly agentId: string;
  readonly status: RunStatus | null;
}

/** Short names of the budgets, as bars and columns label them. */
export const BUDGET_LABEL: Record<BudgetUse['budget'], string> = {
  turns: 'turns',
  inputTokens: 'input tok',
  outputTokens: 'output tok',
  totalTokens: 'tokens',
  costUsd: 'cost',
  fanOut: 'fan-out',
  depth: 'depth',
  wallClockMs: 'time',
};

export const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
export const pad = (text: string, width: number) => (text.length >= width ? `${text.slice(0, width - 1)}…` : text.padEnd(width));
export const cut = (text: string, width: number) => (text.length > width ? `${text.slice(0, Math.max(0, width - 1))}…` : text);

/** What a run is doing, in a few words: "acting lookup_order", "paused by oncall@demo: inspect", or its terminal reason. */
function describeState(status: RunStatus): string {
  if (status.outcome) return status.outcome.reason;
  if (status.paused) return `paused by ${status.paused.by}: ${status.paused.why}`;
  if (status.pendingApproval) return `awaiting approval of ${status.pendingApproval.tool}`;
  const pausing = status.pauseRequested ? ' (pause requested)' : '';
  return `${status.state}${status.activeTool ? ` ${status.activeTool}` : ''}${pausing}`;
}

/** The budget closest to running out, as a bar: the one an operator would watch. */
function budgetBar(status: RunStatus, width: number): string {
  const tightest = status.budgets.reduce<BudgetUse | null>((a, b) => (a === null || b.share > a.share ? b : a), null);
  if (!tightest) return '';
  const filled = Math.round(Math.min(1, tightest.share) * width);
  return `${'█'.repeat(filled)}${'░'.repeat(width - filled)} ${String(Math.round(tightest.share * 100)).padStart(3)}% ${BUDGET_LABEL[tightest.budget]}`;
}

/** The state column of a run in flight: who paused it, or that a pause is on its way. */
function liveState(s: RunStatus): string {
  if (s.paused) return `paused (${s.paused.by})`;
  return s.pauseRequested ? `${s.state}, pausing` : s.state;
}

/** Width of the run id column: demo run ids are `<prefix>.<scenario>`, about 20 characters. */
const RUN_WIDTH = 22;
/** Width of the agent column: fits `support-watchful`. */
const AGENT_WIDTH = 17;

function tableRow(row: LiveRow, p: Paint): string {
  const head = `${pad(row.runId, RUN_WIDTH)}${pad(row.agentId, AGENT_WIDTH)}`;
  const s = row.status;
  if (!s) return p.dim(`${head}queued`);
  const state = s.outcome ? p.group(groupOf(s.outcome.reason), pad(s.outcome.reason, 22)) : pad(liveState(s), 22);
  return `${head}${state}${String(s.step).padStart(4)}  ${pad(s.activeTool ?? '', 15)}${String(s.turns).padStart(5)}  ${budgetBar(s, 10)}`;
}

/** Fits the rows into `room` lines: runs in flight first, then finished and queued ones, and a count of the rest. */
function visibleRows(rows: readonly LiveRow[], room: number): { shown: LiveRow[]; hidden: number } {
  if (rows.length <= room) return { shown: [...rows], hidden: 0 };
  const inFlight = rows.filter((r) => r.status && !r.status.outcome);
  const rest = rows.filter((r) => !inFlight.includes(r));
  const shown = [...inFlight, ...rest].slice(0, Math.max(0, room - 1));
  return { shown, hidden: rows.length - shown.length };
}

/** One frame of the live table, each line cut to `columns` so that nothing wraps and the redraw stays aligned; `notes` go last, undimmed. */
export function liveFrame(
  rows: readonly LiveRow[],
  operatorLines: readonly string[],
  elapsedMs: number,
  size: { columns: number; rows: number },
  p: Paint,
  notes: readonly string[] = [],
): string[] {
  const count = (f: (s: RunStatus) => boolean) => rows.filter((r) => r.status && f(r.status)).length;
  const counts = [
    `${count((s) => s.status === 'running')} running`,
    `${count((s) => s.status === 'paused')} paused`,
    `${count((s) => s.status === 'awaiting-approval')} awaiting approval`,
    `${count((s) => s.status === 'done')} done`,
    `${rows.filter((r) => !r.status).length} queued`,
  ];
  const header = p.bold(`reins demo · ${rows.length} runs · ${counts.join(' · ')} · ${seconds(elapsedMs)}`);
  const columns = p.dim(`${pad('RUN', RUN_WIDTH)}${pad('AGENT', AGENT_WIDTH)}${pad('STATE', 22)}${'STEP'.padStart(4)}  ${pad('TOOL', 15)}${'TURNS'.padStart(5)}  BUDGET`);
  const footer = [...operatorLines.map((line) => p.dim(line)), ...notes];
  // Two header lines, the footer, and one spare line so that the cursor never scrolls the frame.
  const { shown, hidden } = visibleRows(rows, size.rows - 3 - footer.length);
  const lines = [header, columns, ...shown.map((r) => tableRow(r, p))];
  if (hidden > 0) lines.push(p.dim(`… ${hidden} more`));
  lines.push(...footer);
  // A wrapped line would break the cursor arithmetic of the redraw: a line too wide loses its colour rather than wrap.
  return lines.map((line) => (visibleLength(line) > size.columns - 1 ? cut(stripAnsi(line), size.columns - 1) : line));
}

export const ANSI = /\x1b\[[0-9;]*m/g;
export const stripAnsi = (text: string) => text.replace(ANSI, '');
export const visibleLength = (text: string) => stripAnsi(text).length;

const stamp = (elapsedMs: number) => `+${(elapsedMs / 1000).toFixed(3)}s`.padEnd(9);

/** The log line for one state change, for output that is not a terminal: no escapes, one event per line. */
export function changeLine(elapsedMs: number, status: RunStatus): string {
  const detail = status.outcome ? `  ${evidenceOf(status.outcome)}` : `  step ${status.step}, turn ${status.turns}`;
  return `${stamp(elapsedMs)} ${pad(status.runId, RUN_WIDTH)}${describeState(status)}${detail}`;
}

/** An operator command as words: "oncall@demo: kill research-08 (runaway cost)". */
export function operatorLine(action: OperatorAction): string {
  return `${action.by}: ${action.command} ${action.runId}${action.why ? ` (${action.why})` : ''}`;
}

/** The log line for an operator command, between the state changes it causes. */
export function operatorLogLine(elapsedMs: number, action: OperatorAction): string {
  return `${stamp(elapsedMs)} ${pad(action.runId, RUN_WIDTH)}» ${operatorLine(action)}`;
}

export const money = (usd: number) => `$${usd.toFixed(4)}`;
const json = (value: unknown) => cut(JSON.stringify(value) ?? 'null', 60);

/** One line of evidence from an outcome: what an operator needs to believe its reason. */
export function evidenceOf(o: TerminalOutcome): string {
  switch (o.reason) {
    case 'COMPLETED':
      return `result ${json(o.result)} in ${o.turns} turns, ${money(o.usage.costUsd)}${o.verified ? `, verified by ${o.verified.by}` : ''}`;
    case 'INFEASIBLE':
      return `"${o.explanation}"`;
    case 'ESCALATED':
      return o.pending ? `${o.by}: ${o.why}; pending ${o.pending.tool} ${cut(o.pending.arguments, 50)}` : `${o.by}: "${o.why}"`;
    case 'BUDGET_EXCEEDED':
      return o.budget === 'costUsd' ? `costUsd ${money(o.used)} ≥ ${money(o.limit)}` : `${o.budget} ${o.used} ≥ ${o.limit}`;
    case 'TIMEOUT':
      return `deadline ${o.deadlineMs} ms, elapsed ${o.elapsedMs} ms, in ${o.state}${o.tool ? ` (${o.tool})` : ''}`;
    case 'LOOP_DETECTED':
      return `${o.pattern} x${o.repeats} of ${o.actions.join(' → ')}${o.warned ? ', after a warning' : ''}`;
    case 'NO_PROGRESS':
      return `${o.failedChecks} of ${o.checks} checks failed: ${o.verdict.why}`;
    case 'RETRY_LIMIT_REACHED':
      return `${o.tool} failed ${o.attempts} attempts, last ${o.lastError.name}: ${o.lastError.message}`;
    case 'TOOL_FAILURE':
      return `${o.tool} ${o.errorClass}: ${o.message}`;
    case 'MODEL_REFUSED':
      return `finish ${o.finishReason} (raw ${o.rawFinishReason ?? 'none'}): "${o.message}"`;
    case 'ACTION_IN_DOUBT':
      return `${o.tool} key ${o.idempotencyKey}: ${o.error.name}: ${o.error.message}`;
    case 'USER_KILLED':
      return `by ${o.by}: "${o.why}" at turn ${o.turns}, ${money(o.usage.costUsd)} spent`;
    case 'RESULT_REJECTED':
      return `${o.attempts} answers rejected by ${o.check}, last: ${o.reasons.at(-1) ?? ''} (answer ${json(o.answer)})`;
    case 'INTERNAL_ERROR':
      return `${o.error.name}: ${o.error.message} (in ${o.where})`;
  }
}

/** A finished run as the report needs it. */
export interface ReportRun {
  readonly runId: string;
  readonly expected: TerminalReason;
  readonly outcome: TerminalOutcome;
}

const share = (n: number, total: number) => `${((100 * n) / Math.max(1, total)).toFixed(1)}%`.padStart(6);

/**
 * The fleet's distribution of terminal reasons (count, share, group, one line
 * of evidence from a real outcome), the group totals, and every run that did
 * not end as designed. Reasons that never occurred are listed too, at zero:
 * an absent reason is information.
 */
export function distributionReport(runs: readonly ReportRun[], elapsedMs: number, seedNote: string, p: Paint): string[] {
  const total = runs.length;
  const lines = [p.bold(`Terminal reasons: ${total} runs in ${seconds(elapsedMs)} (${seedNote})`), ''];
  lines.push(p.dim(`${pad('REASON', 21)}${'RUNS'.padStart(4)} ${'SHARE'.padStart(6)}  ${pad('GROUP', 11)}${pad('EXAMPLE', RUN_WIDTH)}EVIDENCE`));
  for (const reason of TERMINAL_REASONS) {
    const matching = runs.filter((r) => r.outcome.reason === reason);
    const group = groupOf(reason);
    const example = matching[0];
    const evidence = example ? `${pad(example.runId, RUN_WIDTH)}${cut(evidenceOf(example.outcome), 110)}` : '—';
    lines.push(`${p.group(group, pad(reason, 21))}${String(matching.length).padStart(4)} ${share(matching.length, total)}  ${pad(group, 11)}${evidence}`);
  }
  const groups = (['healthy', 'exhausted', 'broken'] as const).map((g) => {
    const n = runs.filter((r) => groupOf(r.outcome.reason) === g).length;
    return p.group(g, `${g} ${n} (${share(n, total).trim()})`);
  });
  lines.push('', `Groups: ${groups.join(' · ')}`, '');
  const mismatched = runs.filter((r) => r.outcome.reason !== r.expected);
  if (mismatched.length === 0) {
    lines.push(p.group('healthy', `✓ all ${total} runs ended with the reason they were designed for`));
  } else {
    lines.push(p.group('broken', `✗ ${mismatched.length} of ${total} runs did not end as designed:`));
    for (const r of mismatched) lines.push(`  ${pad(r.runId, RUN_WIDTH)}expected ${pad(r.expected, 21)}got ${pad(r.outcome.reason, 21)}${evidenceOf(r.outcome)}`);
  }
  return lines;
}
