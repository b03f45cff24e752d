import { OutcomeGroup, TERMINAL_REASONS } from '../machines/outcome.js';
import { escapeHtml, queueText, runRowsHtml, scriptJson, type FirstPaint } from './first-paint.js';

/**
 * The console's one page: HTML, CSS and JavaScript inline (the machine may
 * have no internet, and nothing is loaded from elsewhere). The page listens
 * to /api/events (server-sent events) and never polls; it fetches a run's
 * detail when that run changes. The token comes from the URL fragment
 * (`#token=…`, which browsers never send to a server), is kept in
 * sessionStorage, and is taken off the address bar.
 *
 * The server renders the run list into the page (console/first-paint.ts),
 * so the first paint shows the runs before the event stream delivers.
 *
 * The script below is plain JavaScript inside a TS string: it uses no
 * backticks and no dollar-brace, so that the string needs no escaping.
 */

const STYLE = `
:root { --bg:#f6f7f9; --panel:#fff; --ink:#1d2330; --dim:#6b7385; --line:#e3e6ec; --healthy:#1f8a4c; --exhausted:#b7791f; --broken:#c53030; --accent:#2b6cb0; --paused:#6b46c1; }
* { box-sizing: border-box; }
body { margin:0; font:13px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color:var(--ink); background:var(--bg); }
header { display:flex; gap:16px; align-items:center; padding:10px 18px; background:#1d2330; color:#fff; }
header h1 { font-size:16px; margin:0; letter-spacing:.3px; }
header .meta { color:#c3c9d6; font-size:12px; }
header .spacer { flex:1; }
.pill { display:inline-block; padding:1px 8px; border-radius:10px; font-size:11px; font-weight:600; background:#e9ecf2; color:var(--ink); white-space:nowrap; }
#live.on { background:#c6f6d5; color:#22543d; } #live.off { background:#fed7d7; color:#742a2a; }
#auth.ok { background:#c6f6d5; color:#22543d; } #auth.none { background:#feebc8; color:#7b341e; }
main { display:grid; grid-template-columns: minmax(0, 1.6fr) minmax(320px, 1fr); gap:14px; padding:14px 18px; }
#runs { grid-column: 1 / -1; }
section { background:var(--panel); border:1px solid var(--line); border-radius:8px; padding:10px 12px; min-width:0; }
section h2 { font-size:13px; margin:0 0 8px; text-transform:uppercase; letter-spacing:.6px; color:var(--dim); display:flex; gap:8px; align-items:center; }
.col { display:flex; flex-direction:column; gap:14px; min-width:0; }
table { width:100%; border-collapse:collapse; }
th { text-align:left; font-weight:600; color:var(--dim); font-size:11px; border-bottom:1px solid var(--line); padding:3px 6px; position:sticky; top:0; background:var(--panel); }
td { padding:3px 6px; border-bottom:1px solid #f0f2f5; white-space:nowrap; overflow:hidden; text-overflow:ellipsis; max-width:220px; }
td.id { max-width:280px; }
td.budgets { white-space:normal; max-width:none; overflow:visible; }
td.owner { max-width:none; overflow:visible; }
tr.run { cursor:pointer; } tr.run:hover td { background:#f3f6fb; } tr.run.selected td { background:#e6effa; }
.scroll { max-height:38vh; overflow:auto; }
.filters button { font-size:11px; padding:2px 8px; border:1px solid var(--line); background:#fff; border-radius:10px; cursor:pointer; }
.filters button.active { background:var(--accent); border-color:var(--accent); color:#fff; }
.st-running { color:var(--accent); font-weight:600; } .st-paused { color:var(--paused); font-weight:600; } .st-awaiting-approval { color:#b7791f; font-weight:600; }
.g-healthy { color:var(--healthy); font-weight:600; } .g-exhausted { color:var(--exhausted); font-weight:600; } .g-broken { color:var(--broken); font-weight:600; }
.bars { display:flex; flex-wrap:wrap; gap:2px 8px; }
.finder { display:flex; gap:8px; flex-wrap:wrap; align-items:center; margin:0 0 8px; }
.finder select, .finder input { font-size:12px; padding:3px 6px; border:1px solid var(--line); border-radius:4px; background:#fff; }
.finder input { flex:1; min-width:180px; }
.finder .shown { color:var(--dim); font-size:12px; }
.bar { display:inline-flex; align-items:center; gap:3px; font-size:10px; color:var(--dim); }
.bar i { display:inline-block; width:38px; height:7px; background:#edf0f5; border-radius:4px; overflow:hidden; position:relative; }
.bar i b { position:absolute; left:0; top:0; bottom:0; background:var(--accent); }
.bar i b.hot { background:var(--broken); }
.big .bar i { width:120px; height:9px; } .big .bar { font-size:12px; color:var(--ink); gap:6px; }
#detail .head { display:flex; gap:10px; align-items:baseline; flex-wrap:wrap; }
#detail .head h3 { margin:0; font-size:15px; }
.kv { display:grid; grid-template-columns: 90px 1fr; gap:2px 10px; margin:8px 0; }
.kv div:nth-child(odd) { color:var(--dim); }
.controls { display:flex; gap:8px; margin:8px 0; flex-wrap:wrap; align-items:center; }
button.act { padding:5px 14px; border-radius:6px; border:1px solid var(--line); background:#fff; cursor:pointer; font-weight:600; }
button.act:disabled { opacity:.45; cursor:not-allowed; }
button.pause { border-color:var(--paused); color:var(--paused); } button.resume { border-color:var(--accent); color:var(--accent); }
button.kill, button.reject { border-color:var(--broken); color:var(--broken); } button.approve { border-color:var(--healthy); color:var(--healthy); }
#message { font-size:12px; color:var(--dim); min-height:16px; }
#message.error { color:var(--broken); }
.timeline { max-height:26vh; overflow:auto; font:11.5px/1.5 ui-monospace, SFMono-Regular, Menlo, monospace; background:#fafbfc; border:1px solid var(--line); border-radius:6px; padding:6px 8px; }
.timeline div { white-space:nowrap; }
.timeline .k-transition { color:var(--dim); } .timeline .k-model { color:#2c5282; } .timeline .k-tool { color:#276749; } .timeline .k-control { color:var(--paused); font-weight:600; } .timeline .fail { color:var(--broken); }
pre.outcome { background:#fafbfc; border:1px solid var(--line); border-radius:6px; padding:6px 8px; max-height:18vh; overflow:auto; font-size:11.5px; margin:6px 0 0; }
.item { border:1px solid var(--line); border-radius:6px; padding:7px 9px; margin-bottom:8px; }
.item .args { font:11.5px ui-monospace, monospace; color:var(--dim); word-break:break-all; margin:3px 0 6px; }
.item input { width:100%; font-size:12px; padding:3px 6px; border:1px solid var(--line); border-radius:4px; margin-bottom:6px; }
.empty { color:var(--dim); font-style:italic; }
.chart .row { display:grid; grid-template-columns: 150px 1fr 70px; gap:8px; align-items:center; margin:2px 0; font-size:12px; }
.chart .track { background:#f0f2f5; border-radius:3px; height:12px; position:relative; }
.chart .fill { position:absolute; left:0; top:0; bottom:0; border-radius:3px; }
.fill.healthy { background:var(--healthy); } .fill.exhausted { background:var(--exhausted); } .fill.broken { background:var(--broken); }
.groups { display:flex; gap:12px; margin:8px 0 2px; font-size:12px; flex-wrap:wrap; }
.sc { font-size:11px; }
.sc .node { border:1px solid var(--line); border-radius:6px; padding:2px 5px; margin:3px; display:inline-block; vertical-align:top; background:#fff; }
.sc .node.compound, .sc .node.parallel { display:block; background:#fafbfc; padding:4px 6px; }
.sc .node.parallel > .kids { display:flex; gap:6px; } .sc .node.parallel > .kids > .node { flex:1; }
.sc .node .name { color:var(--dim); font-weight:600; }
.sc .node.final { border-style:double; border-width:3px; }
.sc .node.active { border-color:var(--accent); background:#e6effa; }
.sc .node.active > .name { color:var(--accent); }
.sc .node.current { background:var(--accent); border-color:var(--accent); } .sc .node.current > .name { color:#fff; }
.sc .node.final.current { background:var(--broken); border-color:var(--broken); } .sc .node.final.current.healthy { background:var(--healthy); border-color:var(--healthy); }
details summary { cursor:pointer; color:var(--dim); font-weight:600; margin-top:8px; }
`;

const SCRIPT = `
'use strict';
var REASONS = ['COMPLETED','INFEASIBLE','ESCALATED','BUDGET_EXCEEDED','TIMEOUT','LOOP_DETECTED','NO_PROGRESS','RETRY_LIMIT_REACHED','TOOL_FAILURE','MODEL_REFUSED','ACTION_IN_DOUBT','USER_KILLED','RESULT_REJECTED','INTERNAL_ERROR'];
var GROUP = { COMPLETED:'healthy', INFEASIBLE:'healthy', ESCALATED:'healthy', BUDGET_EXCEEDED:'exhausted', TIMEOUT:'exhausted' };
function groupOf(r) { return GROUP[r] || 'broken'; }
var LABEL = { turns:'turns', inputTokens:'in tok', outputTokens:'out tok', totalTokens:'tokens', costUsd:'cost', fanOut:'fan-out', depth:'depth', wallClockMs:'time' };

var token = null;
(function takeToken() {
  var m = /(?:^|[#&])token=([^&]+)/.exec(location.hash);
  if (m) { token = decodeURIComponent(m[1]); try { sessionStorage.setItem('reins-token', token); } catch (e) {} history.replaceState(null, '', location.pathname + location.search); }
  else { try { token = sessionStorage.getItem('reins-token'); } catch (e) {} }
})();

var state = { runs: new Map(), approvals: [], stats: null, queue: null, filter: 'all', find: { reason: '', group: '', agent: '', text: '' }, agents: [], selected: null, detail: null, charts: {} };

function el(tag, attrs, children) {
  var e = document.createElement(tag);
  if (attrs) for (var k in attrs) { if (k === 'text') e.textContent = attrs[k]; else if (k === 'class') e.className = attrs[k]; else if (k.slice(0, 2) === 'on') e.addEventListener(k.slice(2), attrs[k]); else e.setAttribute(k, attrs[k]); }
  (children || []).forEach(function (c) { if (c != null) e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c); });
  return e;
}
function $(id) { return document.getElementById(id); }
function age(ms) { var s = Math.max(0, Math.round(ms / 1000)); if (s < 60) return s + 's'; if (s < 3600) return Math.floor(s / 60) + 'm'; if (s < 86400) return Math.floor(s / 3600) + 'h'; return Math.floor(s / 86400) + 'd'; }
function money(n) { return '$' + Number(n || 0).toFixed(4); }
function pct(x) { return (x * 100).toFixed(1) + '%'; }
function clock(at) { return new Date(at).toISOString().slice(11, 23); }

function bar(b) {
  var share = Math.max(0, Math.min(1, b.share));
  var fill = el('b', { class: b.share >= 0.9 ? 'hot' : '' }); fill.style.width = Math.round(share * 100) + '%';
  return el('span', { class: 'bar', title: LABEL[b.budget] + ': ' + b.used + ' of ' + b.limit }, [LABEL[b.budget], el('i', null, [fill]), Math.round(b.share * 100) + '%']);
}
function statusCell(r) {
  if (r.status === 'done') return el('span', { class: 'g-' + groupOf(r.reason), text: r.reason });
  var label = r.status === 'paused' && r.paused ? 'paused (' + r.paused.by + ')' : r.pauseRequested ? r.status + ', pausing' : r.status;
  return el('span', { class: 'st-' + r.status, text: label });
}

var scheduled = false;
function render() { if (scheduled) return; scheduled = true; requestAnimationFrame(function () { scheduled = false; renderRuns(); renderApprovals(); renderStats(); }); }

function matches(r) {
  var f = state.find;
  if (state.filter !== 'all' && r.status !== state.filter) return false;
  if (f.reason && r.reason !== f.reason) return false;
  if (f.group && (r.status !== 'done' || groupOf(r.reason) !== f.group)) return false;
  if (f.agent && r.agentId !== f.agent) return false;
  if (!f.text) return true;
  var hay = [r.runId, r.agentId, r.status, r.state, r.reason || '', r.activeTool || '', r.owner || '', r.parentId || ''].join(' ').toLowerCase();
  return f.text.toLowerCase().split(/\\s+/).every(function (w) { return hay.indexOf(w) >= 0; });
}

function renderAgentOptions() {
  var select = $('f-agent'), known = new Set(state.agents);
  state.runs.forEach(function (r) { known.add(r.agentId); });
  var have = Array.from(select.options).map(function (o) { return o.value; });
  Array.from(known).sort().forEach(function (a) { if (have.indexOf(a) < 0) select.appendChild(el('option', { value: a, text: a })); });
}

function renderRuns() {
  renderAgentOptions();
  var list = Array.from(state.runs.values()).filter(matches);
  list.sort(function (a, b) { return b.updatedAt - a.updatedAt; });
  var counts = { all: state.runs.size };
  state.runs.forEach(function (r) { counts[r.status] = (counts[r.status] || 0) + 1; });
  document.querySelectorAll('.filters button').forEach(function (b) { var f = b.getAttribute('data-filter'); b.className = f === state.filter ? 'active' : ''; b.textContent = f + ' ' + (counts[f] || 0); });
  var body = $('runs-body'); body.textContent = '';
  var now = Date.now();
  list.slice(0, 400).forEach(function (r) {
    var tr = el('tr', { class: 'run' + (r.runId === state.selected ? ' selected' : ''), 'data-run': r.runId, 'data-status': r.status, onclick: function () { select(r.runId); } }, [
      el('td', { class: 'id', text: r.runId, title: r.runId }), el('td', { text: r.agentId }), el('td', null, [statusCell(r)]), el('td', { text: r.state }),
      el('td', { text: String(r.step) }), el('td', { text: r.activeTool || '' }), el('td', { text: age(now - r.createdAt) }),
      el('td', { class: 'budgets' }, [el('span', { class: 'bars' }, r.budgets.map(bar))]), el('td', { class: 'owner', text: r.owner ? r.owner.split(':').slice(0, 2).join(':') : '', title: r.owner || '' }),
    ]);
    body.appendChild(tr);
  });
  $('shown').textContent = list.length + ' of ' + state.runs.size + ' shown';
  if (list.length === 0) body.appendChild(el('tr', null, [el('td', { colspan: '9', class: 'empty', text: state.runs.size ? 'no run matches the filters' : 'no runs' })]));
}

function renderApprovals() {
  var box = $('approvals-list'); box.textContent = '';
  $('approvals-count').textContent = String(state.approvals.length);
  if (state.approvals.length === 0) { box.appendChild(el('div', { class: 'empty', text: 'nothing waits for approval' })); return; }
  state.approvals.forEach(function (a) {
    var feedback = el('input', { placeholder: 'feedback for the model if you reject', 'aria-label': 'feedback for ' + a.itemId });
    box.appendChild(el('div', { class: 'item', 'data-item': a.itemId }, [
      el('div', null, [el('b', { text: a.tool }), ' · ', el('a', { href: '#', text: a.runId, onclick: function (e) { e.preventDefault(); select(a.runId); } }), ' · ', el('span', { class: 'pill', text: a.agentId })]),
      el('div', { class: 'args', text: JSON.stringify(a.arguments) }),
      el('div', { class: 'args', text: 'waiting ' + age(Date.now() - a.since) + (a.dueAt ? ' · due in ' + age(a.dueAt - Date.now()) : '') }),
      feedback,
      el('div', { class: 'controls' }, [
        el('button', { class: 'act approve', 'data-action': 'approve', onclick: function () { act('approvals', a.itemId, 'approve', {}); } }, ['Approve']),
        el('button', { class: 'act reject', 'data-action': 'reject', onclick: function () { act('approvals', a.itemId, 'reject', { feedback: feedback.value }); } }, ['Reject']),
      ]),
    ]));
  });
}

function renderStats() {
  var s = state.stats, box = $('stats-chart'); box.textContent = '';
  if (!s) return;
  $('stats-runs').textContent = s.runs + ' runs' + (s.active ? ' · ' + s.active + ' active' : '');
  var most = Math.max.apply(null, [1].concat(REASONS.map(function (r) { return s.byReason[r].count; })));
  REASONS.forEach(function (r) {
    var c = s.byReason[r], g = groupOf(r);
    var fill = el('div', { class: 'fill ' + g }); fill.style.width = (100 * c.count / most) + '%';
    box.appendChild(el('div', { class: 'row', 'data-reason': r }, [el('span', { class: 'g-' + g, text: r }), el('div', { class: 'track' }, [fill]), el('span', { text: c.count + ' · ' + pct(c.share) })]));
  });
  var groups = $('stats-groups'); groups.textContent = '';
  ['healthy', 'exhausted', 'broken'].forEach(function (g) { groups.appendChild(el('span', { class: 'g-' + g, text: g + ' ' + s.byGroup[g].count + ' (' + pct(s.byGroup[g].share) + ')' })); });
  var p = $('stats-pct'); p.textContent = '';
  if (s.turns) p.appendChild(el('div', { text: 'turns p50 ' + s.turns.p50 + ' · p90 ' + s.turns.p90 + ' · p99 ' + s.turns.p99 }));
  if (s.costUsd) p.appendChild(el('div', { text: 'cost p50 ' + money(s.costUsd.p50) + ' · p90 ' + money(s.costUsd.p90) + ' · p99 ' + money(s.costUsd.p99) }));
  var agents = $('stats-agents'); agents.textContent = '';
  Object.keys(s.perAgent).forEach(function (a) {
    var x = s.perAgent[a];
    agents.appendChild(el('tr', null, [el('td', { text: a }), el('td', { text: String(x.runs) }), el('td', { class: 'g-healthy', text: pct(x.byGroup.healthy.share) }), el('td', { class: 'g-exhausted', text: pct(x.byGroup.exhausted.share) }), el('td', { class: 'g-broken', text: pct(x.byGroup.broken.share) })]));
  });
}

function select(runId) { state.selected = runId; render(); loadDetail(); }

var detailTimer = null;
function loadDetailSoon() { clearTimeout(detailTimer); detailTimer = setTimeout(loadDetail, 120); }
function loadDetail() {
  var id = state.selected; if (!id) return;
  fetch('/api/runs/' + encodeURIComponent(id)).then(function (r) { return r.json(); }).then(function (d) {
    if (state.selected !== id) return;
    state.detail = d;
    if (d.run && !state.charts[d.run.agentId]) {
      state.charts[d.run.agentId] = 'loading';
      fetch('/api/agents/' + encodeURIComponent(d.run.agentId) + '/chart').then(function (r) { return r.ok ? r.json() : null; }).then(function (c) { state.charts[d.run.agentId] = c; renderDetail(); });
    }
    renderDetail();
  });
}

function timelineText(e, start) {
  var rel = '+' + ((e.at - start) / 1000).toFixed(3) + 's';
  var step = typeof e.step === 'number' ? ' #' + e.step : '';
  var ms = typeof e.latencyMs === 'number' ? ' ' + e.latencyMs + ' ms' : '';
  var what;
  if (e.kind === 'transition') what = e.from + ' \\u2192 ' + e.to + '  (' + e.event + ')';
  else if (e.kind === 'model') what = e.error ? 'model call failed' + ms + ': ' + e.error : 'model ' + (e.model || '') + ms + ', ' + (e.usage ? e.usage.inputTokens + ' in / ' + e.usage.outputTokens + ' out tok' : '') + ', ' + money(e.costUsd) + ' \\u2192 ' + (e.decision || e.finishReason || '');
  else if (e.kind === 'tool') what = 'tool ' + e.tool + ' (attempt ' + e.attempt + ')' + ms + ' ' + (e.ok ? 'ok' : 'failed: ' + e.error);
  else if (e.kind === 'control') what = 'operator ' + e.by + ': ' + String(e.command).toLowerCase() + (e.applied === 'in-store' ? ' (applied in the store)' : '');
  else if (e.kind === 'judge') what = 'progress check by ' + e.judge + ': ' + (e.progressing ? 'progressing' : 'not progressing');
  else what = e.kind;
  return rel + ' ' + clock(e.at) + step + '  ' + what;
}

function chartNode(n, active, finalGroup) {
  var cls = 'node ' + n.type + (active.has(n.path) ? ' active' : '');
  var leafActive = active.has(n.path) && !n.children.some(function (c) { return active.has(c.path); });
  if (leafActive && n.path !== '') cls += ' current' + (n.type === 'final' && finalGroup === 'healthy' ? ' healthy' : '');
  var kids = n.children.filter(function (c) { return c.type !== 'history'; });
  return el('div', { class: cls, 'data-state': n.path }, [el('span', { class: 'name', text: n.key }), kids.length ? el('div', { class: 'kids' }, kids.map(function (c) { return chartNode(c, active, finalGroup); })) : null]);
}

function renderDetail() {
  var d = state.detail, box = $('detail-body');
  box.textContent = '';
  if (!d || !d.run) { box.appendChild(el('div', { class: 'empty', text: d && d.error ? d.error : 'select a run to see its detail' })); return; }
  var r = d.run;
  box.appendChild(el('div', { class: 'head' }, [el('h3', { text: r.runId }), el('span', { class: 'pill', text: r.agentId }), el('span', { id: 'detail-status', 'data-status': r.status }, [statusCell(r)])]));
  var kv = el('div', { class: 'kv' });
  function row(k, v) { kv.appendChild(el('div', { text: k })); kv.appendChild(el('div', { text: v })); }
  if (d.goal) row('goal', d.goal);
  row('state', r.state + ' · step ' + r.step + ' · ' + r.turns + ' turns' + (r.activeTool ? ' · tool ' + r.activeTool : ''));
  if (r.paused) row('paused', 'by ' + r.paused.by + ': ' + r.paused.why);
  if (r.pendingApproval) row('waiting', 'approval of ' + r.pendingApproval.tool + ' ' + JSON.stringify(r.pendingApproval.arguments));
  if (d.usage) row('usage', d.usage.inputTokens + ' in / ' + d.usage.outputTokens + ' out tokens · ' + money(d.usage.costUsd));
  row('owner', r.owner || (r.status === 'done' ? '\\u2014' : 'nobody hosts it'));
  box.appendChild(kv);
  if (r.budgets.length) box.appendChild(el('div', { class: 'bars big' }, r.budgets.map(bar)));
  var done = r.status === 'done';
  var controls = el('div', { class: 'controls' }, [
    el('button', { class: 'act pause', 'data-action': 'pause', onclick: function () { act('runs', r.runId, 'pause', { why: 'paused from the console' }); } }, ['Pause']),
    el('button', { class: 'act resume', 'data-action': 'resume', onclick: function () { act('runs', r.runId, 'resume', {}); } }, ['Resume']),
    el('button', { class: 'act kill', 'data-action': 'kill', onclick: function () { act('runs', r.runId, 'kill', { why: 'killed from the console' }); } }, ['Kill']),
  ]);
  controls.querySelector('.pause').disabled = done || r.status === 'paused' || !token;
  controls.querySelector('.resume').disabled = done || !(r.status === 'paused' || r.pauseRequested) || !token;
  controls.querySelector('.kill').disabled = done || !token;
  box.appendChild(controls);
  if (d.outcome) {
    box.appendChild(el('div', null, [el('b', { class: 'g-' + groupOf(d.outcome.reason), text: d.outcome.reason }), ' (' + groupOf(d.outcome.reason) + ')']));
    box.appendChild(el('pre', { class: 'outcome', text: JSON.stringify(d.outcome, null, 2) }));
  }
  var chart = state.charts[r.agentId];
  if (chart && chart !== 'loading') {
    var active = new Set(d.activePaths || []);
    if (d.outcome && active.size === 0) { var fin = chart.children.find(function (c) { return c.type === 'final' && finalReason(c.key) === d.outcome.reason; }); if (fin) active.add(fin.path); }
    var sc = el('details', { open: 'open' }, [el('summary', { text: 'Statechart (current state highlighted)' }), el('div', { class: 'sc' }, [chartNode(chart, active, d.outcome ? groupOf(d.outcome.reason) : null)])]);
    box.appendChild(sc);
  }
  var tl = el('div', { class: 'timeline', id: 'timeline' });
  (d.timeline || []).forEach(function (e) { tl.appendChild(el('div', { class: 'k-' + e.kind + (e.ok === false || e.error ? ' fail' : '') , text: timelineText(e, r.createdAt) })); });
  box.appendChild(el('details', { open: 'open' }, [el('summary', { text: 'Timeline (' + (d.timeline || []).length + ')' }), tl]));
  tl.scrollTop = tl.scrollHeight;
  if (d.children && d.children.length) box.appendChild(el('div', null, ['children: '].concat(d.children.map(function (c) { return el('a', { href: '#', text: c.runId + ' ', onclick: function (e) { e.preventDefault(); select(c.runId); } }); }))));
}
function finalReason(key) { return key.replace(/([A-Z])/g, '_$1').toUpperCase().replace('TIMED_OUT', 'TIMEOUT'); }

function renderQueue() {
  var q = state.queue, box = $('queue');
  if (!box || !q) return;
  box.textContent = 'queue: ' + Object.keys(q).map(function (k) { return k + ' ' + q[k]; }).join(' \u00b7 ');
}

function message(text, isError) { var m = $('message'); m.textContent = text; m.className = isError ? 'error' : ''; }

function act(kind, id, command, body) {
  if (!token) { message('read-only: open the URL that reins console printed (it carries the token)', true); return; }
  message(command + ' ' + id + '\\u2026');
  fetch('/api/' + kind + '/' + encodeURIComponent(id) + '/' + command, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer ' + token }, body: JSON.stringify(body || {}) })
    .then(function (res) { return res.json().then(function (j) { return { ok: res.ok, status: res.status, body: j }; }); })
    .then(function (r) {
      if (!r.ok) { message(command + ' ' + id + ': ' + (r.body.error || r.status), true); return; }
      var effect = r.body.effect === 'requested' ? 'requested (lands once the in-flight call settles)' : r.body.effect === 'hosted-here' ? 'done; the console now hosts the run' : 'done';
      message(command + ' ' + id + ': ' + effect);
      if (state.selected === id) loadDetailSoon();
    })
    .catch(function (e) { message(command + ' failed: ' + e.message, true); });
}

function connect() {
  var es = new EventSource('/api/events');
  es.addEventListener('open', function () { $('live').className = 'pill on'; $('live').textContent = 'live'; });
  es.addEventListener('error', function () { $('live').className = 'pill off'; $('live').textContent = 'reconnecting'; });
  es.addEventListener('hello', function (m) {
    var d = JSON.parse(m.data); state.runs = new Map(); d.runs.forEach(function (r) { state.runs.set(r.runId, r); });
    state.approvals = d.approvals; state.stats = d.stats; state.queue = d.queue; render(); renderQueue(); if (state.selected) loadDetailSoon();
  });
  es.addEventListener('run', function (m) { var r = JSON.parse(m.data).run; state.runs.set(r.runId, r); render(); if (r.runId === state.selected) loadDetailSoon(); });
  es.addEventListener('removed', function (m) { state.runs.delete(JSON.parse(m.data).runId); render(); });
  es.addEventListener('approvals', function (m) { state.approvals = JSON.parse(m.data).approvals; render(); });
  es.addEventListener('stats', function (m) { state.stats = JSON.parse(m.data).stats; render(); });
  es.addEventListener('queue', function (m) { state.queue = JSON.parse(m.data).queue; renderQueue(); });
}

document.querySelectorAll('.filters button').forEach(function (b) { b.addEventListener('click', function () { state.filter = b.getAttribute('data-filter'); render(); }); });
[['f-reason', 'reason', 'change'], ['f-group', 'group', 'change'], ['f-agent', 'agent', 'change'], ['f-text', 'text', 'input']].forEach(function (f) {
  $(f[0]).addEventListener(f[2], function (e) { state.find[f[1]] = e.target.value.trim(); render(); });
});
(function firstPaint() {
  // The server rendered the rows already; the same data starts the state, so the first update changes only what changed.
  var initial = JSON.parse($('initial').textContent);
  initial.runs.forEach(function (r) { state.runs.set(r.runId, r); });
  state.agents = initial.agents;
})();
$('auth').className = 'pill ' + (token ? 'ok' : 'none');
$('auth').textContent = token ? 'controls enabled' : 'read-only (no token)';
connect();
`;

const option = (value: string, text = value) => `<option value="${escapeHtml(value)}">${escapeHtml(text)}</option>`;

/** The page's markup, with the run list and the filters' choices rendered from `initial`. */
const body = (initial: FirstPaint, now: number) => `
<header>
  <h1>reins console</h1>
  <span class="meta" id="store">${escapeHtml(initial.storeLabel)}</span>
  <span class="spacer"></span>
  <span class="pill" id="auth"></span>
  <span class="pill off" id="live">connecting</span>
</header>
<main>
    <section id="runs">
      <h2>Runs <span class="filters">
        <button data-filter="all">all</button> <button data-filter="running">running</button> <button data-filter="awaiting-approval">awaiting-approval</button>
        <button data-filter="paused">paused</button> <button data-filter="done">done</button>
      </span></h2>
      <div class="finder">
        <select id="f-reason" aria-label="reason">${option('', 'any reason')}${TERMINAL_REASONS.map((r) => option(r)).join('')}</select>
        <select id="f-group" aria-label="group">${option('', 'any group')}${OutcomeGroup.options.map((g) => option(g)).join('')}</select>
        <select id="f-agent" aria-label="agent">${option('', 'any agent')}${[...new Set([...initial.agents, ...initial.runs.map((r) => r.agentId)])].sort().map((a) => option(a)).join('')}</select>
        <input id="f-text" type="search" placeholder="search run id, agent, state, tool, reason, owner" aria-label="search runs">
        <span class="shown" id="shown">${initial.runs.length} of ${initial.runs.length} shown</span>
      </div>
      <div class="scroll"><table>
        <thead><tr><th>run</th><th>agent</th><th>status</th><th>state</th><th>step</th><th>tool</th><th>age</th><th>budgets</th><th>owner</th></tr></thead>
        <tbody id="runs-body">${runRowsHtml(initial.runs, now)}</tbody>
      </table></div>
    </section>
  <div class="col">
    <section id="detail">
      <h2>Run detail</h2>
      <div id="message"></div>
      <div id="detail-body"><div class="empty">select a run to see its detail</div></div>
    </section>
  </div>
  <div class="col">
    <section id="approvals">
      <h2>Approvals <span class="pill" id="approvals-count">0</span></h2>
      <div id="approvals-list"></div>
    </section>
    <section id="stats">
      <h2>Terminal reasons <span class="pill" id="stats-runs"></span></h2>
      <div class="chart" id="stats-chart"></div>
      <div class="groups" id="stats-groups"></div>
      <div class="sc" id="stats-pct"></div>
      <table class="sc"><thead><tr><th>agent</th><th>runs</th><th>healthy</th><th>exhausted</th><th>broken</th></tr></thead><tbody id="stats-agents"></tbody></table>
      ${initial.queue ? `<div class="sc" id="queue">${escapeHtml(queueText(initial.queue))}</div>` : ''}
    </section>
  </div>
</main>
`;

/** The console page as one HTML document, its run list rendered from `initial` (the first paint needs no script). */
export function consolePage(initial: FirstPaint, now = Date.now()): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>reins console</title>
<style>${STYLE}</style>
</head>
<body>${body(initial, now)}
<script type="application/json" id="initial">${scriptJson({ runs: initial.runs, agents: initial.agents })}</script>
<script>${SCRIPT}</script>
</body>
</html>
`;
}
