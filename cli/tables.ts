import type { BudgetUse } from '../agents/status.js';
import type { FleetStats, Percentiles, StatsReport } from '../agents/stats.js';
import { groupOf, TERMINAL_REASONS, type OutcomeGroup, type TerminalReason } from '../machines/outcome.js';
import { fitTable, type Column } from './columns.js';
import { age } from './duration.js';
import type { ApprovalItem } from './ops/approvals.js';
import type { RunDetail, RunView, TimelineEntry } from './ops/runs.js';
import { BUDGET_LABEL, cut, evidenceOf, money, pad, type Paint } from './render.js';

const BAR_CELLS = 5;

/** One budget as a short bar: `turns ██░░░ 40%`. */
export function budgetBar(use: BudgetUse): string {
  const filled = Math.round(Math.min(1, Math.max(0, use.share)) * BAR_CELLS);
  return `${BUDGET_LABEL[use.budget]} ${'█'.repeat(filled)}${'░'.repeat(BAR_CELLS - filled)} ${String(Math.round(use.share * 100)).padStart(3)}%`;
}

/** The status column's text: paused by whom, a pause on its way, or the terminal reason. */
function statusText(run: RunView): string {
  if (run.status === 'done' && run.reason) return run.reason;
  if (run.status === 'paused' && run.paused) return `paused (${run.paused.by})`;
  if (run.pauseRequested) return `${run.status}, pausing`;
  return run.status;
}

/** A terminal reason coloured by its group; anything else as it is. */
function statusStyle(run: RunView, padded: string, p: Paint): string {
  const reason = run.reason as TerminalReason;
  return run.status === 'done' && TERMINAL_REASONS.includes(reason) ? p.group(groupOf(reason), padded) : padded;
}

/** A version as a column shows it: `auto:` and the first 8 hex of a computed one, an explicit one as it is; the chart version after a slash. */
export function versionLabel(version: { readonly agent: string; readonly chart: number }): string {
  const agent = version.agent.startsWith('auto:') ? version.agent.slice(0, 13) : version.agent;
  return `${agent}/c${version.chart}`;
}

/** `reins ps`: one line per run, fitted to `width` (the owner, budgets, tool and step columns go first when it is narrow). */
export function psTable(runs: readonly RunView[], total: number, p: Paint, width: number | null = null): string[] {
  if (runs.length === 0) return [total === 0 ? 'no runs' : `no runs shown (${total} match; raise --limit)`];
  const columns: Column[] = [
    // Run ids are never cut: they are what a reader pastes into the next command.
    { head: 'RUN', cells: runs.map((r) => r.runId), keep: 100 },
    { head: 'AGENT', cells: runs.map((r) => r.agentId), keep: 90, minWidth: 10 },
    { head: 'STATUS', cells: runs.map(statusText), keep: 95, style: (cell, i) => statusStyle(runs[i]!, cell, p) },
    { head: 'STATE', cells: runs.map((r) => r.state), keep: 80, minWidth: 12 },
    { head: 'STEP', cells: runs.map((r) => String(r.step)), keep: 60, align: 'right' },
    { head: 'TOOL', cells: runs.map((r) => r.activeTool ?? ''), keep: 50, minWidth: 12 },
    { head: 'AGE', cells: runs.map((r) => age(r.ageMs)), keep: 70, align: 'right' },
    { head: 'VERSION', cells: runs.map((r) => (r.version ? versionLabel(r.version) : '')), keep: 55, minWidth: 10 },
    { head: 'BUDGETS', cells: runs.map((r) => r.budgets.map(budgetBar).join('  ')), keep: 40 },
    { head: 'OWNER', cells: runs.map((r) => r.owner ?? ''), keep: 30, minWidth: 12 },
  ];
  const lines = fitTable(columns, width, (head) => p.dim(head));
  if (total > runs.length) lines.push(p.dim(`… ${total - runs.length} more (raise --limit, or filter by --status / --agent / --reason)`));
  return lines;
}

const json = (value: unknown, width: number) => cut(JSON.stringify(value) ?? 'null', width);
const clock = (at: number) => new Date(at).toISOString().slice(11, 23);

/** One trace entry as a timeline line. */
export function timelineLine(entry: TimelineEntry, startedAt: number): string {
  const e = entry as Record<string, unknown>;
  const rel = `+${((entry.at - startedAt) / 1000).toFixed(3)}s`.padStart(10);
  const step = typeof e.step === 'number' ? `#${e.step}`.padStart(4) : '    ';
  const ms = typeof e.latencyMs === 'number' ? `${e.latencyMs} ms` : '';
  let what: string;
  switch (entry.kind) {
    case 'transition':
      what = `${e.from} → ${e.to}  (${e.event})`;
      break;
    case 'model': {
      const usage = e.usage as { inputTokens?: number; outputTokens?: number } | undefined;
      const tokens = usage ? `${usage.inputTokens ?? 0} in / ${usage.outputTokens ?? 0} out tok` : '';
      const cost = typeof e.costUsd === 'number' ? money(e.costUsd) : '';
      what = e.error
        ? `model call failed (attempt ${e.attempt}) ${ms}: ${e.error}`
        : `model ${e.model ?? ''} ${ms}, ${tokens}, ${cost} → ${e.decision ?? e.finishReason ?? ''}`.replace(/ ,/g, ',');
      break;
    }
    case 'tool':
      what = `tool ${e.tool} (attempt ${e.attempt}) ${ms} ${e.ok ? 'ok' : `failed: ${e.error}`}`;
      break;
    case 'judge':
      what = `progress check ${e.check} by ${e.judge}: ${e.progressing ? 'progressing' : 'not progressing'}${e.why ? ` (${cut(String(e.why), 80)})` : ''}`;
      break;
    case 'compaction':
      what = `compaction (${e.reason}) ${e.compacted ? `${e.messagesBefore} → ${e.messagesAfter} messages` : 'nothing to compact'}`;
      break;
    case 'control':
      what = `operator ${e.by}: ${String(e.command).toLowerCase()}${e.applied === 'in-store' ? ' (applied in the store; nobody hosted the run)' : ''}`;
      break;
    default:
      what = `${entry.kind} ${json(entry, 100)}`;
  }
  return `${rel} ${clock(entry.at)} ${step}  ${what}`;
}

/** `reins show`: the run, its budgets, the timeline, the outcome with its evidence, the children. */
export function showText(d: RunDetail, p: Paint): string[] {
  const r = d.run;
  const lines = [p.bold(`${r.runId}  (${r.agentId})`)];
  if (d.goal) lines.push(`goal      ${cut(d.goal, 120)}`);
  const status = r.status === 'done' ? `done: ${r.reason}` : r.status;
  lines.push(`status    ${status}, state ${r.state}, step ${r.step}, ${r.turns} turns${r.activeTool ? `, tool ${r.activeTool}` : ''}`);
  if (r.paused) lines.push(`paused    by ${r.paused.by}: ${r.paused.why} (${age(Date.now() - r.paused.at)} ago)`);
  if (r.pendingApproval) lines.push(`waiting   approval of ${r.pendingApproval.tool} ${json(r.pendingApproval.arguments, 100)}`);
  lines.push(`started   ${new Date(r.createdAt).toISOString()} (${age(r.ageMs)} ago)${r.owner ? `, hosted by ${r.owner}` : ''}`);
  if (d.usage) {
    const u = d.usage;
    lines.push(`usage     ${u.turns} turns, ${u.inputTokens} in / ${u.outputTokens} out tokens, ${u.costKnown ? money(u.costUsd) : 'cost unknown'}`);
  }
  if (r.budgets.length > 0) lines.push(`budgets   ${r.budgets.map(budgetBar).join('   ')}`);
  if (r.parentId) lines.push(`parent    ${r.parentId}`);
  lines.push('', p.bold(`Timeline (${d.timeline.length} entries)`));
  const start = r.createdAt;
  for (const entry of d.timeline) lines.push(timelineLine(entry, start));
  if (d.timeline.length === 0) lines.push(p.dim('  (no trace entries)'));
  lines.push('');
  if (d.outcome) {
    const group = groupOf(d.outcome.reason);
    lines.push(p.bold('Outcome'), `${p.group(group, d.outcome.reason)} (${group})  ${evidenceOf(d.outcome)}`);
    lines.push(p.dim(JSON.stringify(d.outcome, null, 2)));
  } else {
    lines.push(p.dim('No outcome yet: the run has not ended.'));
  }
  lines.push('', p.bold(`Children (${d.children.length})`));
  for (const c of d.children) lines.push(`  ${pad(c.runId, 30)}${pad(c.agentId, 18)}${c.status === 'done' ? c.reason : c.status}`);
  if (d.children.length === 0) lines.push(p.dim('  none'));
  return lines;
}

const pct = (share: number) => `${(share * 100).toFixed(1)}%`.padStart(6);
const pcts = (p: Percentiles | null, fmt: (n: number) => string) => (p ? `p50 ${fmt(p.p50)}  p90 ${fmt(p.p90)}  p99 ${fmt(p.p99)}` : 'no ended runs');

/** The group counts of a fleet in one line: healthy 30 (83.3%) · exhausted 3 (8.3%) · broken 3 (8.3%). */
function groupLine(s: FleetStats, p: Paint): string {
  return (['healthy', 'exhausted', 'broken'] as OutcomeGroup[]).map((g) => p.group(g, `${g} ${s.byGroup[g].count} (${pct(s.byGroup[g].share).trim()})`)).join(' · ');
}

/** `reins stats`: the reason distribution with bars, group totals, percentiles, and the per-agent table an on-call engineer pages on. */
export function statsText(report: StatsReport, scope: string, p: Paint): string[] {
  const lines = [p.bold(`Terminal reasons: ${report.runs} runs ${scope}`)];
  const extra = [report.active > 0 ? `${report.active} still active` : '', report.quarantined > 0 ? `${report.quarantined} quarantined` : ''].filter(Boolean);
  if (extra.length > 0) lines.push(p.dim(`(${extra.join(', ')}: counted in runs, not in any reason)`));
  lines.push('', p.dim(`${pad('REASON', 21)}${'RUNS'.padStart(5)} ${'SHARE'.padStart(6)}  ${pad('GROUP', 10)}`));
  const most = Math.max(1, ...TERMINAL_REASONS.map((r) => report.byReason[r].count));
  for (const reason of TERMINAL_REASONS) {
    const { count, share } = report.byReason[reason];
    const group = groupOf(reason);
    const bar = '█'.repeat(Math.round((count / most) * 30));
    lines.push(`${p.group(group, pad(reason, 21))}${String(count).padStart(5)} ${pct(share)}  ${pad(group, 10)}${p.group(group, bar)}`);
  }
  lines.push('', `Groups: ${groupLine(report, p)}`);
  lines.push(`Turns:  ${pcts(report.turns, String)}`);
  lines.push(`Cost:   ${pcts(report.costUsd, money)}`);
  const agents = Object.entries(report.perAgent);
  if (agents.length > 0) {
    lines.push('', p.bold('Per agent'), p.dim(`${pad('AGENT', 20)}${'RUNS'.padStart(5)}${'ACTIVE'.padStart(7)}  ${pad('HEALTHY', 9)}${pad('EXHAUSTED', 10)}${pad('BROKEN', 8)} TOP BROKEN REASON`));
    for (const [agent, s] of agents) {
      const broken = TERMINAL_REASONS.filter((r) => groupOf(r) === 'broken' && s.byReason[r].count > 0).sort((a, b) => s.byReason[b].count - s.byReason[a].count)[0];
      lines.push(
        `${pad(agent, 20)}${String(s.runs).padStart(5)}${String(s.active).padStart(7)}  ${pad(pct(s.byGroup.healthy.share).trim(), 9)}${pad(pct(s.byGroup.exhausted.share).trim(), 10)}${p.group('broken', pad(pct(s.byGroup.broken.share).trim(), 8))} ${broken ? `${broken} (${s.byReason[broken].count})` : '—'}`,
      );
    }
  }
  lines.push('', p.dim('Page on broken, watch exhausted, count healthy.'));
  return lines;
}

/** `reins approvals`: one line per pending item. */
export function approvalsTable(items: readonly ApprovalItem[], now: number, p: Paint): string[] {
  if (items.length === 0) return ['no approvals pending'];
  const idWidth = Math.max(6, ...items.map((i) => i.itemId.length)) + 2;
  const lines = [p.dim(`${pad('ITEM', idWidth)}${pad('AGENT', 18)}${pad('TOOL', 16)}${'WAITING'.padStart(8)}${'DUE IN'.padStart(8)}  ARGUMENTS`)];
  for (const i of items) {
    const due = i.dueAt === null ? '—' : i.dueAt <= now ? 'due' : age(i.dueAt - now);
    lines.push(`${pad(i.itemId, idWidth)}${pad(i.agentId, 18)}${pad(i.tool, 16)}${age(now - i.since).padStart(8)}${due.padStart(8)}  ${json(i.arguments, 90)}`);
  }
  return lines;
}
