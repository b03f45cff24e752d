import type { BudgetUse } from '../agents/status.js';
import { groupOf, TERMINAL_REASONS, type TerminalReason } from '../machines/outcome.js';
import type { RunView } from '../cli/ops/runs.js';
import { age } from '../cli/duration.js';
import type { QueueDepth } from '../agents/fleet/slice-queue.js';

/**
 * The run list as HTML, rendered by the server into the page, so that the
 * first paint shows the runs before the page's script has connected to the
 * event stream (and without script at all). The markup is the one the
 * page's script renders (console/page.ts, renderRuns), which replaces these
 * rows with its own on every update.
 */

/** What the page is rendered with. */
export interface FirstPaint {
  readonly runs: readonly RunView[];
  readonly storeLabel: string;
  readonly agents: readonly string[];
  /** The fleet's slice queue by state; null when the console watches no fleet (a FileStore). */
  readonly queue: QueueDepth | null;
}

/** The queue line: jobs by state, as the page's script writes it too (renderQueue). */
export function queueText(queue: QueueDepth): string {
  return `queue: ${Object.entries(queue).map(([state, n]) => `${state} ${n}`).join(' · ')}`;
}

const BUDGET_LABEL: Record<BudgetUse['budget'], string> = {
  turns: 'turns',
  inputTokens: 'in tok',
  outputTokens: 'out tok',
  totalTokens: 'tokens',
  costUsd: 'cost',
  fanOut: 'fan-out',
  depth: 'depth',
  wallClockMs: 'time',
};

/** Text and attribute values as HTML. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** A value as JSON that may sit inside a <script> element (no `</script>` can close it early). */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

function groupOfReason(reason: string | null): string {
  return reason !== null && (TERMINAL_REASONS as readonly string[]).includes(reason) ? groupOf(reason as TerminalReason) : 'broken';
}

function bar(b: BudgetUse): string {
  const share = Math.max(0, Math.min(1, b.share));
  const label = BUDGET_LABEL[b.budget];
  return (
    `<span class="bar" title="${escapeHtml(`${label}: ${b.used} of ${b.limit}`)}">${label}` +
    `<i><b class="${b.share >= 0.9 ? 'hot' : ''}" style="width:${Math.round(share * 100)}%"></b></i>${Math.round(b.share * 100)}%</span>`
  );
}

function statusCell(r: RunView): string {
  if (r.status === 'done') return `<span class="g-${groupOfReason(r.reason)}">${escapeHtml(r.reason ?? '')}</span>`;
  const label = r.status === 'paused' && r.paused ? `paused (${r.paused.by})` : r.pauseRequested ? `${r.status}, pausing` : r.status;
  return `<span class="st-${r.status}">${escapeHtml(label)}</span>`;
}

/** The owner as the list shows it: host and pid, the full id in the title. */
export function ownerText(owner: string | null): string {
  return owner ? owner.split(':').slice(0, 2).join(':') : '';
}

/** The rows of the run list, newest first, as the page's script would render them at `now`. */
export function runRowsHtml(runs: readonly RunView[], now: number): string {
  if (runs.length === 0) return '<tr><td colspan="9" class="empty">no runs</td></tr>';
  return [...runs]
    .sort((a, b) => b.updatedAt - a.updatedAt)
    .map((r) =>
      [
        `<tr class="run" data-run="${escapeHtml(r.runId)}" data-status="${r.status}">`,
        `<td class="id" title="${escapeHtml(r.runId)}">${escapeHtml(r.runId)}</td>`,
        `<td>${escapeHtml(r.agentId)}</td>`,
        `<td>${statusCell(r)}</td>`,
        `<td>${escapeHtml(r.state)}</td>`,
        `<td>${r.step}</td>`,
        `<td>${escapeHtml(r.activeTool ?? '')}</td>`,
        `<td>${age(now - r.createdAt)}</td>`,
        `<td class="budgets"><span class="bars">${r.budgets.map(bar).join('')}</span></td>`,
        `<td class="owner" title="${escapeHtml(r.owner ?? '')}">${escapeHtml(ownerText(r.owner))}</td>`,
        '</tr>',
      ].join(''),
    )
    .join('\n');
}
