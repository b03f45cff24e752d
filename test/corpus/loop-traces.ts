import { z } from 'zod';

/** One tool call as an agent made it; a result with an `error` key is a failed call. */
export const TracedCall = z.object({ tool: z.string().min(1), args: z.json(), result: z.json() });
export type TracedCall = z.infer<typeof TracedCall>;

/** A realistic agent trace, labelled by hand: `loop` if a supervisor should stop (or warn) it, `ok` if not. */
export const LoopTrace = z.object({
  name: z.string().min(1),
  label: z.enum(['loop', 'ok']),
  why: z.string().min(1),
  actions: z.array(TracedCall).min(1),
});
export type LoopTrace = z.infer<typeof LoopTrace>;

const call = (tool: string, args: TracedCall['args'], result: TracedCall['result']): TracedCall => ({ tool, args, result });

/** `n` rounds of a step, for traces whose point is a long stretch of the same shape. */
const rounds = (n: number, step: (i: number) => TracedCall[]): TracedCall[] => Array.from({ length: n }, (_, i) => step(i)).flat();

// Calls shared by several traces, so a repeated call is visibly the same call.
const ticket1042 = call('get_ticket', { id: 'T-1042' }, { id: 'T-1042', subject: 'Charged twice for order #88213', customer: 'maria.lopez@example.com', status: 'open', priority: 'high' });
const customerMaria = call('lookup_customer', { email: 'maria.lopez@example.com' }, { id: 'C-5531', name: 'Maria Lopez', plan: 'pro', since: '2021-03-14' });
const order88213 = call('get_order', { id: '88213' }, { id: '88213', customer: 'C-5531', total: 149.0, currency: 'EUR', charges: [{ id: 'ch_1', amount: 149.0 }, { id: 'ch_2', amount: 149.0 }] });
const sleep30 = call('sleep', { seconds: 30 }, { slept: 30 });

export const loopTraces: LoopTrace[] = [
  // ── support agent ────────────────────────────────────────────────────────
  {
    name: 'support/refund-resolved',
    label: 'ok',
    why: 'ticket, customer, order, eligibility, refund, reply: every call is new',
    actions: [
      ticket1042,
      customerMaria,
      call('list_orders', { customer: 'C-5531', limit: 5 }, { orders: ['88213', '87990', '86102'] }),
      order88213,
      call('check_refund_eligibility', { order: '88213', charge: 'ch_2' }, { eligible: true, reason: 'duplicate charge' }),
      call('issue_refund', { order: '88213', charge: 'ch_2', amount: 149.0 }, { refundId: 're_3Qx81', status: 'pending' }),
      call('send_reply', { ticket: 'T-1042', body: 'Hi Maria, we refunded the duplicate charge of EUR 149.' }, { status: 'sent', messageId: 'm-77120' }),
      call('close_ticket', { id: 'T-1042', resolution: 'refunded' }, { status: 'closed' }),
    ],
  },
  {
    name: 'support/same-kb-search-again',
    label: 'loop',
    why: 'the same knowledge-base query returns the same articles and the agent keeps asking it',
    actions: [
      call('get_ticket', { id: 'T-2210' }, { id: 'T-2210', subject: 'Lost my phone, cannot log in (2FA)', customer: 'dev@acme.io' }),
      call('lookup_customer', { email: 'dev@acme.io' }, { id: 'C-0912', plan: 'team', seats: 14 }),
      ...rounds(4, () => [call('search_kb', { query: 'reset 2FA without phone' }, { articles: [{ id: 'kb-311', title: 'Recovery codes' }, { id: 'kb-118', title: 'Contact support to reset 2FA' }] })]),
    ],
  },
  {
    name: 'support/paging-open-tickets',
    label: 'ok',
    why: 'same tool, different page each time, different tickets each time',
    actions: [
      ...rounds(5, (i) => [
        call('list_tickets', { status: 'open', queue: 'billing', page: i + 1 }, { page: i + 1, tickets: [`T-${3100 + i * 3}`, `T-${3101 + i * 3}`, `T-${3102 + i * 3}`] }),
      ]),
      call('assign_ticket', { id: 'T-3107', assignee: 'agent-bot' }, { ok: true }),
    ],
  },
  {
    name: 'support/re-checks-customer-once',
    label: 'ok',
    why: 'two identical lookups back to back (a re-check before a refund) is ordinary',
    actions: [ticket1042, customerMaria, customerMaria, order88213, call('issue_refund', { order: '88213', charge: 'ch_2', amount: 149.0 }, { refundId: 're_3Qx99', status: 'pending' })],
  },
  {
    name: 'support/order-customer-ping-pong',
    label: 'loop',
    why: 'alternates between the same order and the same customer record, learning nothing',
    actions: [ticket1042, ...rounds(4, () => [order88213, customerMaria])],
  },
  {
    name: 'support/macro-before-each-reply',
    label: 'ok',
    why: 'fetches the same macro before each of six replies; each reply goes to a different ticket, so the world changes even though every send answers "sent"',
    actions: rounds(6, (i) => [
      call('get_macro', { name: 'refund-approved' }, { body: 'Hi {{name}}, your refund of {{amount}} is on its way (3-5 business days).' }),
      call('send_reply', { ticket: `T-40${10 + i}`, body: `Hi customer ${i}, your refund of EUR ${20 + i * 5} is on its way (3-5 business days).` }, { status: 'sent' }),
    ]),
  },
  {
    name: 'support/wanders-ticket-customer-article',
    label: 'loop',
    why: 'keeps reopening the ticket between the same customer record and article, in no fixed order, nothing new after the first three calls',
    actions: [
      ticket1042,
      customerMaria,
      call('get_kb_article', { id: 'kb-207' }, { id: 'kb-207', title: 'Duplicate charges', body: 'Refund the second charge from the billing console.' }),
      ticket1042,
      call('get_kb_article', { id: 'kb-207' }, { id: 'kb-207', title: 'Duplicate charges', body: 'Refund the second charge from the billing console.' }),
      ticket1042,
      customerMaria,
      ticket1042,
      call('get_kb_article', { id: 'kb-207' }, { id: 'kb-207', title: 'Duplicate charges', body: 'Refund the second charge from the billing console.' }),
      ticket1042,
      customerMaria,
      ticket1042,
      customerMaria,
    ],
  },
  {
    name: 'support/refund-gateway-flaky',
    label: 'ok',
    why: 'retries a refund whose error changes each time (new request id, new upstream), then it succeeds',
    actions: [
      ticket1042,
      call('issue_refund', { order: '88213', charge: 'ch_2', amount: 149.0 }, { error: 'gateway timeout after 10000ms', requestId: 'req-81f2' }),
      call('issue_refund', { order: '88213', charge: 'ch_2', amount: 149.0 }, { error: 'upstream 502 from payments-gw-2', requestId: 'req-81f9' }),
      call('issue_refund', { order: '88213', charge: 'ch_2', amount: 149.0 }, { refundId: 're_3Qy02', status: 'pending' }),
      call('send_reply', { ticket: 'T-1042', body: 'Refund issued.' }, { status: 'sent', messageId: 'm-77161' }),
    ],
  },
  {
    name: 'support/handoff-queue-position',
    label: 'ok',
    why: 'waits in a human-handoff queue with identical sleeps; the position changes every poll',
    actions: [
      call('request_handoff', { ticket: 'T-2210', team: 'security' }, { queued: true, position: 6 }),
      ...rounds(5, (i) => [sleep30, call('get_queue_position', { ticket: 'T-2210' }, { position: 5 - i })]),
      call('get_queue_position', { ticket: 'T-2210' }, { position: 0, assignedTo: 'sam.k' }),
    ],
  },

  // ── research agent ───────────────────────────────────────────────────────
  {
    name: 'research/same-web-search-verbatim',
    label: 'loop',
    why: 'after two useful fetches it runs one query verbatim again and again, getting the same hits',
    actions: [
      call('web_search', { query: 'EU AI Act obligations general purpose models' }, { results: ['eur-lex.europa.eu/…/2024-1689', 'artificialintelligenceact.eu/article/53'] }),
      call('fetch_url', { url: 'https://artificialintelligenceact.eu/article/53' }, { title: 'Article 53: Obligations for Providers of GPAI Models', words: 812 }),
      ...rounds(3, () => [
        call('web_search', { query: 'GPAI code of practice deadline' }, { results: ['digital-strategy.ec.europa.eu/…/code-practice', 'euractiv.com/…/gpai-code-delayed'] }),
      ]),
    ],
  },
  {
    name: 'research/refines-search-terms',
    label: 'ok',
    why: 'the same search tool with successively refined queries, each returning different hits',
    actions: [
      call('web_search', { query: 'xstate persistence' }, { results: ['stately.ai/docs/persistence', 'github.com/statelyai/xstate/discussions/4511'] }),
      call('web_search', { query: 'xstate persist delayed events' }, { results: ['github.com/statelyai/xstate/issues/4680', 'stately.ai/docs/delayed-transitions'] }),
      call('web_search', { query: 'xstate v5 getPersistedSnapshot after timers restore' }, { results: ['github.com/statelyai/xstate/issues/4843'] }),
      call('fetch_url', { url: 'https://github.com/statelyai/xstate/issues/4843' }, { title: 'Delayed events are lost on restore', comments: 9 }),
      call('write_notes', { section: 'durable timers', text: 'XState does not persist after() timers; re-arm on restore.' }, { saved: true }),
    ],
  },
  {
    name: 'research/pages-through-results',
    label: 'ok',
    why: 'walks six pages of one query: same tool and query, different page and hits',
    actions: rounds(6, (i) => [
      call('search_papers', { query: 'loop detection LLM agents', page: i + 1 }, { page: i + 1, hits: [`arXiv:24${10 + i}.0${i}113`, `arXiv:24${10 + i}.1${i}870`] }),
    ]),
  },
  {
    name: 'research/two-page-navigation',
    label: 'loop',
    why: 'A-B-A-B between two pages that never change',
    actions: [
      call('web_search', { query: 'redis stream xautoclaim semantics' }, { results: ['redis.io/docs/latest/commands/xautoclaim', 'redis.io/docs/latest/develop/data-types/streams'] }),
      ...rounds(3, () => [
        call('open_url', { url: 'https://redis.io/docs/latest/commands/xautoclaim' }, { title: 'XAUTOCLAIM', sections: ['Syntax', 'Return', 'History'] }),
        call('open_url', { url: 'https://redis.io/docs/latest/develop/data-types/streams' }, { title: 'Redis Streams', sections: ['Consumer groups', 'Recovering from permanent failures'] }),
      ]),
    ],
  },
  {
    name: 'research/search-open-open-cycle',
    label: 'loop',
    why: 'search, open hit 1, open hit 2, then the same search again: a period-3 cycle',
    actions: rounds(3, () => [
      call('web_search', { query: 'otel genai semantic conventions execute_tool' }, { results: ['opentelemetry.io/docs/specs/semconv/gen-ai/gen-ai-spans', 'github.com/open-telemetry/semantic-conventions/pull/1527'] }),
      call('open_url', { url: 'https://opentelemetry.io/docs/specs/semconv/gen-ai/gen-ai-spans' }, { title: 'Semantic conventions for generative AI spans', status: 'Development' }),
      call('open_url', { url: 'https://github.com/open-telemetry/semantic-conventions/pull/1527' }, { title: 'Add execute_tool span', state: 'merged' }),
    ]),
  },
  {
    name: 'research/reads-pdf-page-by-page',
    label: 'ok',
    why: 'same document, a different page each call',
    actions: rounds(8, (i) => [call('read_pdf', { url: 'https://arxiv.org/pdf/2503.13657', page: i + 1 }, { page: i + 1, chars: 3900 + i * 17, firstLine: `Section ${Math.floor(i / 2) + 1}` })]),
  },
  {
    name: 'research/revisits-first-source-to-quote',
    label: 'ok',
    why: 'reopens the first source once to quote it; a single identical repeat far apart',
    actions: [
      call('fetch_url', { url: 'https://martinfowler.com/articles/patterns-of-distributed-systems/lease.html' }, { title: 'Lease', words: 2410 }),
      call('fetch_url', { url: 'https://redis.io/docs/latest/develop/use/patterns/distributed-locks' }, { title: 'Distributed Locks with Redis', words: 3120 }),
      call('fetch_url', { url: 'https://martin.kleppmann.com/2016/02/08/how-to-do-distributed-locking.html' }, { title: 'How to do distributed locking', words: 4480 }),
      call('fetch_url', { url: 'https://martinfowler.com/articles/patterns-of-distributed-systems/lease.html' }, { title: 'Lease', words: 2410 }),
      call('write_notes', { section: 'fencing', text: 'Use a fencing token with every lease-protected write.' }, { saved: true }),
    ],
  },
  {
    name: 'research/circles-known-sources',
    label: 'loop',
    why: 'keeps re-running one search between re-reads of two sources it already has, in no fixed order',
    actions: [
      call('web_search', { query: 'bullmq lua scripts atomic' }, { results: ['docs.bullmq.io/guide/architecture', 'github.com/taskforcesh/bullmq/tree/master/src/commands'] }),
      call('open_url', { url: 'https://docs.bullmq.io/guide/architecture' }, { title: 'Architecture', words: 1500 }),
      call('open_url', { url: 'https://github.com/taskforcesh/bullmq/tree/master/src/commands' }, { files: 48 }),
      call('web_search', { query: 'bullmq lua scripts atomic' }, { results: ['docs.bullmq.io/guide/architecture', 'github.com/taskforcesh/bullmq/tree/master/src/commands'] }),
      call('open_url', { url: 'https://github.com/taskforcesh/bullmq/tree/master/src/commands' }, { files: 48 }),
      call('web_search', { query: 'bullmq lua scripts atomic' }, { results: ['docs.bullmq.io/guide/architecture', 'github.com/taskforcesh/bullmq/tree/master/src/commands'] }),
      call('open_url', { url: 'https://docs.bullmq.io/guide/architecture' }, { title: 'Architecture', words: 1500 }),
      call('open_url', { url: 'https://github.com/taskforcesh/bullmq/tree/master/src/commands' }, { files: 48 }),
      call('web_search', { query: 'bullmq lua scripts atomic' }, { results: ['docs.bullmq.io/guide/architecture', 'github.com/taskforcesh/bullmq/tree/master/src/commands'] }),
      call('open_url', { url: 'https://docs.bullmq.io/guide/architecture' }, { title: 'Architecture', words: 1500 }),
      call('web_search', { query: 'bullmq lua scripts atomic' }, { results: ['docs.bullmq.io/guide/architecture', 'github.com/taskforcesh/bullmq/tree/master/src/commands'] }),
      call('open_url', { url: 'https://github.com/taskforcesh/bullmq/tree/master/src/commands' }, { files: 48 }),
      call('web_search', { query: 'bullmq lua scripts atomic' }, { results: ['docs.bullmq.io/guide/architecture', 'github.com/taskforcesh/bullmq/tree/master/src/commands'] }),
    ],
  },
  {
    name: 'research/resolves-citations',
    label: 'ok',
    why: 'resolves six different DOIs',
    actions: rounds(6, (i) => [call('resolve_doi', { doi: `10.1145/35${i}0${i}.12${i}` }, { title: `Paper ${i}`, year: 2018 + i, venue: i % 2 ? 'OSDI' : 'SOSP' })]),
  },
  {
    name: 'research/re-summarises-same-page',
    label: 'loop',
    why: 'asks for the same summary of the same text three times in a row and gets the same answer',
    actions: [
      call('fetch_url', { url: 'https://www.rfc-editor.org/rfc/rfc9110#section-15.5.21' }, { title: '429 Too Many Requests', words: 210 }),
      ...rounds(3, () => [call('summarize', { url: 'https://www.rfc-editor.org/rfc/rfc9110#section-15.5.21', maxWords: 50 }, { summary: 'The client sent too many requests; Retry-After may say when to retry.' })]),
    ],
  },
  {
    name: 'research/feed-with-new-entries',
    label: 'ok',
    why: 'checks a feed between reads; the feed gains entries each time',
    actions: rounds(5, (i) => [
      call('get_feed', { url: 'https://status.openai.com/history.rss' }, { latest: `incident-${900 + i}`, count: 20 + i }),
      call('open_url', { url: `https://status.openai.com/incidents/incident-${900 + i}` }, { title: `Elevated errors ${i}`, resolved: i < 4 }),
    ]),
  },

  // ── coding agent ─────────────────────────────────────────────────────────
  {
    name: 'coding/step-by-step-edits',
    label: 'ok',
    why: 'several different edits to one file, then a passing test run',
    actions: [
      call('read_file', { path: 'src/cart/total.ts' }, { sha: '4e1a9c', lines: 88 }),
      call('edit_file', { path: 'src/cart/total.ts', find: 'let total = 0', replace: 'let total = 0n' }, { ok: true }),
      call('edit_file', { path: 'src/cart/total.ts', find: 'total += item.price', replace: 'total += BigInt(item.priceCents)' }, { ok: true }),
      call('edit_file', { path: 'src/cart/total.ts', find: 'return total', replace: 'return Number(total) / 100' }, { ok: true }),
      call('run_tests', { pattern: 'cart' }, { passed: 14, failed: 0 }),
    ],
  },
  {
    name: 'coding/re-reads-after-each-edit',
    label: 'ok',
    why: 'reads the same file after every edit; its content hash changes each time',
    actions: rounds(5, (i) => [
      call('read_file', { path: 'src/parser.ts' }, { sha: ['a13f0e', '7bc210', 'e90d44', '01f7a2', 'c4d5e6'][i] ?? 'none', lines: 210 + i * 4 }),
      call('apply_patch', { path: 'src/parser.ts', patch: `@@ -${40 + i * 12},3 +${40 + i * 12},7 @@ handle case ${i}` }, { ok: true }),
    ]),
  },
  {
    name: 'coding/edit-then-revert',
    label: 'loop',
    why: 'adds a null check, tests fail, reverts it, tests fail differently, adds it again: the file hash returns to the same two values',
    actions: [
      call('read_file', { path: 'src/session.ts' }, { sha: '5f02aa', lines: 131 }),
      ...rounds(3, () => [
        call('apply_patch', { path: 'src/session.ts', patch: '+ if (!token) return null;' }, { ok: true, sha: 'b7e310' }),
        call('run_tests', { pattern: 'session' }, { passed: 11, failed: 1, first: 'expected refresh() to throw' }),
        call('apply_patch', { path: 'src/session.ts', patch: '- if (!token) return null;' }, { ok: true, sha: '5f02aa' }),
        call('run_tests', { pattern: 'session' }, { passed: 10, failed: 2, first: 'Cannot read properties of undefined (reading "exp")' }),
      ]),
    ],
  },
  {
    name: 'coding/reruns-failing-tests',
    label: 'loop',
    why: 'runs the same failing test three times without changing anything',
    actions: [
      call('read_file', { path: 'test/date.test.ts' }, { sha: '99ab01', lines: 64 }),
      ...rounds(3, () => [call('run_tests', { pattern: 'date' }, { passed: 6, failed: 1, first: 'expected "2024-03-31" to be "2024-04-01" (TZ=Europe/Paris)' })]),
    ],
  },
  {
    name: 'coding/test-fix-converges',
    label: 'ok',
    why: 'the same test command after each fix, with fewer failures each time',
    actions: [
      call('run_tests', {}, { passed: 120, failed: 3, first: 'queue.test.ts: lease expired' }),
      call('edit_file', { path: 'src/queue.ts', find: 'leaseMs = 100', replace: 'leaseMs = 1000' }, { ok: true }),
      call('run_tests', {}, { passed: 122, failed: 1, first: 'store.test.ts: stale version accepted' }),
      call('edit_file', { path: 'src/store.ts', find: 'if (version >= current)', replace: 'if (version > current)' }, { ok: true }),
      call('run_tests', {}, { passed: 123, failed: 0 }),
    ],
  },
  {
    name: 'coding/greps-several-symbols',
    label: 'ok',
    why: 'the same grep tool with a different pattern each time',
    actions: ['createMachine', 'getPersistedSnapshot', 'fromPromise', 'assign(', 'raise('].map((pattern, i) =>
      call('grep', { pattern, path: 'src' }, { matches: i * 3 + 1, files: [`src/file${i}.ts`] }),
    ),
  },
  {
    name: 'coding/typecheck-errors-falling',
    label: 'ok',
    why: 'typecheck after each fix; the error list shrinks',
    actions: [
      call('typecheck', {}, { errors: ["TS2345 a.ts:3", "TS2322 b.ts:10", "TS7006 c.ts:22", "TS2339 d.ts:5"] }),
      call('edit_file', { path: 'a.ts', find: 'parse(x)', replace: 'parse(String(x))' }, { ok: true }),
      call('typecheck', {}, { errors: ["TS2322 b.ts:10", "TS7006 c.ts:22", "TS2339 d.ts:5"] }),
      call('edit_file', { path: 'b.ts', find: 'const n: number = s', replace: 'const n = Number(s)' }, { ok: true }),
      call('typecheck', {}, { errors: ["TS7006 c.ts:22", "TS2339 d.ts:5"] }),
      call('edit_file', { path: 'c.ts', find: '(e) =>', replace: '(e: Event) =>' }, { ok: true }),
      call('typecheck', {}, { errors: ["TS2339 d.ts:5"] }),
      call('edit_file', { path: 'd.ts', find: 'user.nme', replace: 'user.name' }, { ok: true }),
      call('typecheck', {}, { errors: [] }),
    ],
  },
  {
    name: 'coding/lint-format-no-change',
    label: 'loop',
    why: 'lint reports the same errors, the formatter changes nothing, repeat',
    actions: [
      call('read_file', { path: 'src/index.ts' }, { sha: '2c9e71', lines: 40 }),
      ...rounds(3, () => [
        call('run_lint', { path: 'src' }, { errors: ['no-floating-promises src/worker.ts:88', 'no-unused-vars src/index.ts:3'] }),
        call('run_formatter', { path: 'src' }, { changed: 0 }),
      ]),
    ],
  },
  {
    name: 'coding/opens-same-files-no-edit',
    label: 'loop',
    why: 'reads the same three files over and over in no fixed order, never editing',
    actions: [
      call('read_file', { path: 'src/a.ts' }, { sha: 'aa01', lines: 50 }),
      call('read_file', { path: 'src/b.ts' }, { sha: 'bb02', lines: 75 }),
      call('read_file', { path: 'src/c.ts' }, { sha: 'cc03', lines: 20 }),
      call('read_file', { path: 'src/a.ts' }, { sha: 'aa01', lines: 50 }),
      call('read_file', { path: 'src/c.ts' }, { sha: 'cc03', lines: 20 }),
      call('read_file', { path: 'src/b.ts' }, { sha: 'bb02', lines: 75 }),
      call('read_file', { path: 'src/a.ts' }, { sha: 'aa01', lines: 50 }),
      call('read_file', { path: 'src/b.ts' }, { sha: 'bb02', lines: 75 }),
      call('read_file', { path: 'src/a.ts' }, { sha: 'aa01', lines: 50 }),
      call('read_file', { path: 'src/c.ts' }, { sha: 'cc03', lines: 20 }),
      call('read_file', { path: 'src/a.ts' }, { sha: 'aa01', lines: 50 }),
      call('read_file', { path: 'src/c.ts' }, { sha: 'cc03', lines: 20 }),
      call('read_file', { path: 'src/b.ts' }, { sha: 'bb02', lines: 75 }),
      call('read_file', { path: 'src/a.ts' }, { sha: 'aa01', lines: 50 }),
    ],
  },
  {
    name: 'coding/npm-ci-flaky-network',
    label: 'ok',
    why: 'retries npm ci through a flaky registry; the error differs each time, then it works',
    actions: [
      call('run_command', { cmd: 'npm ci' }, { error: 'exit 1', stderr: 'npm ERR! network request to https://registry.npmjs.org/zod failed, reason: ETIMEDOUT' }),
      call('run_command', { cmd: 'npm ci' }, { error: 'exit 1', stderr: 'npm ERR! network aborted: ECONNRESET while fetching xstate-5.33.3.tgz' }),
      call('run_command', { cmd: 'npm ci' }, { exitCode: 0, stdout: 'added 212 packages in 9s' }),
      call('run_tests', {}, { passed: 64, failed: 0 }),
    ],
  },
  {
    name: 'coding/git-status-between-commits',
    label: 'ok',
    why: 'git status after each change; the status differs every time',
    actions: [
      call('git_status', {}, { modified: ['src/a.ts'], staged: [] }),
      call('git_add', { paths: ['src/a.ts'] }, { ok: true }),
      call('git_status', {}, { modified: [], staged: ['src/a.ts'] }),
      call('git_commit', { message: 'Fix rounding in cart totals' }, { sha: '1f3e5d7' }),
      call('git_status', {}, { modified: [], staged: [], ahead: 1 }),
      call('edit_file', { path: 'src/b.ts', find: 'TODO', replace: 'done' }, { ok: true }),
      call('git_status', {}, { modified: ['src/b.ts'], staged: [], ahead: 1 }),
    ],
  },
  {
    name: 'coding/builds-twice-cache-check',
    label: 'ok',
    why: 'builds twice to confirm the cache hit, then moves on: two identical calls',
    actions: [
      call('run_command', { cmd: 'npm run build' }, { exitCode: 0, stdout: 'built in 2.1s (cache: 0/14 hit)' }),
      call('run_command', { cmd: 'npm run build' }, { exitCode: 0, stdout: 'built in 0.3s (cache: 14/14 hit)' }),
      call('run_command', { cmd: 'npm run build' }, { exitCode: 0, stdout: 'built in 0.3s (cache: 14/14 hit)' }),
      call('run_command', { cmd: 'npm pack --dry-run' }, { exitCode: 0, stdout: 'reins-0.1.0.tgz 48 files' }),
    ],
  },
  {
    name: 'coding/style-guide-before-each-file',
    label: 'ok',
    why: 'consults the same style guide before creating each new file; every create is a new file',
    actions: rounds(6, (i) => [
      call('read_file', { path: 'CONTRIBUTING.md' }, { sha: 'd0c5f1', lines: 120 }),
      call('create_file', { path: `guards/g${i}.ts`, content: `export const g${i} = ${i};\n` }, { created: true }),
    ]),
  },
  {
    name: 'coding/branch-ping-pong',
    label: 'loop',
    why: 'checks out main, then the feature branch, then main again, nothing in between',
    actions: [
      call('git_status', {}, { branch: 'feature/leases', modified: [] }),
      ...rounds(3, () => [
        call('git_checkout', { ref: 'main' }, { branch: 'main', head: '0a1b2c3' }),
        call('git_checkout', { ref: 'feature/leases' }, { branch: 'feature/leases', head: '9f8e7d6' }),
      ]),
    ],
  },

  // ── ops agent ────────────────────────────────────────────────────────────
  {
    name: 'ops/rollout-polled-with-identical-waits',
    label: 'ok',
    why: 'identical 30s waits between polls of a rollout whose progress changes each time',
    actions: [
      call('start_rollout', { service: 'api', image: 'api:2.14.0' }, { rollout: 'ro-7731' }),
      ...rounds(6, (i) => [sleep30, call('get_rollout', { id: 'ro-7731' }, { state: 'progressing', updatedReplicas: 2 + i * 2, replicas: 14 })]),
      call('get_rollout', { id: 'ro-7731' }, { state: 'complete', updatedReplicas: 14, replicas: 14 }),
    ],
  },
  {
    name: 'ops/job-status-never-changes',
    label: 'loop',
    why: 'ten polls of a status that never changes, each after the same sleep',
    actions: [
      call('trigger_job', { job: 'nightly-export' }, { runId: 'r-5520' }),
      ...rounds(10, () => [call('get_job_status', { runId: 'r-5520' }, { state: 'pending', queuedAt: '2026-11-21T02:00:04Z' }), sleep30]),
    ],
  },
  {
    name: 'ops/ci-queued-twice-then-starts',
    label: 'ok',
    why: 'the CI job stays queued for two polls, then starts and progresses',
    actions: [
      call('trigger_pipeline', { ref: 'main' }, { pipeline: 'p-90211' }),
      call('get_pipeline', { id: 'p-90211' }, { state: 'queued' }),
      sleep30,
      call('get_pipeline', { id: 'p-90211' }, { state: 'queued' }),
      sleep30,
      call('get_pipeline', { id: 'p-90211' }, { state: 'running', stage: 'build' }),
      sleep30,
      call('get_pipeline', { id: 'p-90211' }, { state: 'running', stage: 'test' }),
      sleep30,
      call('get_pipeline', { id: 'p-90211' }, { state: 'success' }),
    ],
  },
  {
    name: 'ops/rolling-restart',
    label: 'ok',
    why: 'restart and health-check five different hosts',
    actions: rounds(5, (i) => [
      call('restart_service', { host: `web-0${i + 1}`, service: 'nginx' }, { ok: true }),
      call('health_check', { host: `web-0${i + 1}` }, { status: 200, latencyMs: 12 + i }),
    ]),
  },
  {
    name: 'ops/tails-logs-with-cursor',
    label: 'ok',
    why: 'reads logs with a moving cursor; new lines every time',
    actions: rounds(6, (i) => [
      call('get_logs', { service: 'worker', since: `cursor-${1000 + i * 50}` }, { lines: 50, next: `cursor-${1050 + i * 50}`, lastLine: `processed batch ${i}` }),
    ]),
  },
  {
    name: 'ops/deployment-configmap-ping-pong',
    label: 'loop',
    why: 'flips between the same deployment spec and configmap while the pod keeps crashing',
    actions: [
      call('get_pods', { namespace: 'prod', selector: 'app=api' }, { pods: [{ name: 'api-7c9d-x2', status: 'CrashLoopBackOff' }] }),
      ...rounds(3, () => [
        call('get_deployment', { namespace: 'prod', name: 'api' }, { image: 'api:2.14.0', env: ['DATABASE_URL from secret api-db'] }),
        call('get_configmap', { namespace: 'prod', name: 'api-config' }, { data: { LOG_LEVEL: 'info', FEATURE_LEASES: 'true' } }),
      ]),
    ],
  },
  {
    name: 'ops/scale-up-down-flip-flop',
    label: 'loop',
    why: 'scales to 5, back to 3, to 5 again: the state changes but keeps returning to the same two values',
    actions: [
      call('get_hpa', { namespace: 'prod', name: 'api' }, { min: 3, max: 10, current: 3, cpu: '81%' }),
      ...rounds(3, () => [
        call('scale_deployment', { namespace: 'prod', name: 'api', replicas: 5 }, { ok: true, replicas: 5 }),
        call('scale_deployment', { namespace: 'prod', name: 'api', replicas: 3 }, { ok: true, replicas: 3 }),
      ]),
    ],
  },
  {
    name: 'ops/metrics-sliding-windows',
    label: 'ok',
    why: 'the same query over successive time ranges',
    actions: rounds(6, (i) => [
      call('query_metrics', { promql: 'sum(rate(http_requests_total{code=~"5.."}[5m]))', from: `12:${i * 10}`, to: `12:${i * 10 + 10}` }, { value: 0.4 + i * 0.3 }),
    ]),
  },
  {
    name: 'ops/health-check-flaky',
    label: 'ok',
    why: 'health check retried; each failure differs (refused, then a 503 from a new pod), then 200',
    actions: [
      call('http_check', { url: 'https://api.internal/healthz' }, { error: 'connect ECONNREFUSED 10.0.3.14:8080' }),
      call('http_check', { url: 'https://api.internal/healthz' }, { error: '503 Service Unavailable from pod api-7c9d-q8' }),
      call('http_check', { url: 'https://api.internal/healthz' }, { status: 200, pod: 'api-7c9d-q8' }),
    ],
  },
  {
    name: 'ops/same-kubectl-three-times',
    label: 'loop',
    why: 'runs the same kubectl get three times in a row, same output',
    actions: [
      call('kubectl', { args: ['rollout', 'restart', 'deploy/api', '-n', 'prod'] }, { stdout: 'deployment.apps/api restarted' }),
      ...rounds(3, () => [call('kubectl', { args: ['get', 'pods', '-n', 'prod', '-l', 'app=api'] }, { stdout: 'api-7c9d-x2   0/1   CrashLoopBackOff   7   14m' })]),
    ],
  },
  {
    name: 'ops/cert-renewal',
    label: 'ok',
    why: 'order a certificate, poll until valid (status changes), install, verify',
    actions: [
      call('check_cert', { domain: 'api.example.com' }, { daysLeft: 6 }),
      call('acme_order', { domain: 'api.example.com' }, { order: 'ord-118', status: 'pending' }),
      call('acme_order_status', { order: 'ord-118' }, { status: 'processing' }),
      call('acme_order_status', { order: 'ord-118' }, { status: 'valid', cert: 'cert-2026-11' }),
      call('install_cert', { domain: 'api.example.com', cert: 'cert-2026-11' }, { ok: true }),
      call('check_cert', { domain: 'api.example.com' }, { daysLeft: 90 }),
    ],
  },
  {
    name: 'ops/queue-drain-beside-stable-service',
    label: 'ok',
    why: 'watches a queue drain; the API health check beside it is identical every time, the queue depth is not',
    actions: rounds(7, (i) => [
      call('health_check', { host: 'api-01' }, { status: 200 }),
      call('queue_depth', { queue: 'emails' }, { depth: 12000 - i * 1700 }),
      call('sleep', { seconds: 10 }, { slept: 10 }),
    ]),
  },
  {
    name: 'ops/status-poll-with-varying-notes',
    label: 'loop',
    why: 'a status that never changes, polled eight times, with a differently worded note in between each poll: stuck, but every note is a new call',
    actions: [
      call('trigger_job', { job: 'reindex' }, { runId: 'r-8810' }),
      ...rounds(8, (i) => [
        call('get_job_status', { runId: 'r-8810' }, { state: 'pending' }),
        call('note', { text: ['still pending, will check again', 'job has not started yet', 'waiting for the reindex job', 'checking the job status again', 'it is still pending', 'no change yet', 'the job is queued', 'one more check'][i] ?? '' }, { saved: true }),
      ]),
    ],
  },

  // ── data, browser, mail, calendar agents ─────────────────────────────────
  {
    name: 'sql/fixes-query-after-errors',
    label: 'ok',
    why: 'each query is different and each error is different until it runs',
    actions: [
      call('run_sql', { sql: 'select count(*) from ordrs' }, { error: 'relation "ordrs" does not exist' }),
      call('list_tables', {}, { tables: ['orders', 'customers', 'refunds'] }),
      call('run_sql', { sql: 'select count(*) from orders where created > 2024-01-01' }, { error: 'operator does not exist: timestamp > integer' }),
      call('run_sql', { sql: "select count(*) from orders where created > '2024-01-01'" }, { rows: [{ count: 18211 }] }),
    ],
  },
  {
    name: 'sql/reruns-same-failing-query',
    label: 'loop',
    why: 'the same query with the same error, three times',
    actions: [
      call('list_tables', {}, { tables: ['orders', 'customers', 'refunds'] }),
      ...rounds(3, () => [call('run_sql', { sql: 'select sum(total) from orders group by month' }, { error: 'column "month" does not exist' })]),
    ],
  },
  {
    name: 'calendar/availability-across-days',
    label: 'ok',
    why: 'same tool, a different day each time',
    actions: [
      ...rounds(5, (i) => [call('find_free_slots', { attendees: ['ana@x.io', 'li@x.io'], date: `2026-11-2${3 + i}` }, { slots: i === 3 ? ['10:00'] : [] })]),
      call('create_event', { title: 'Design review', date: '2026-11-26', start: '10:00' }, { eventId: 'ev-41' }),
    ],
  },
  {
    name: 'browser/fills-form-field-by-field',
    label: 'ok',
    why: 'types into different fields, then submits',
    actions: [
      call('goto', { url: 'https://portal.example.com/claims/new' }, { title: 'New claim', forms: 1 }),
      ...[
        { selector: '#policy', text: 'PL-448120' },
        { selector: '#date', text: '2026-11-02' },
        { selector: '#amount', text: '1240.50' },
        { selector: '#description', text: 'Water damage in kitchen' },
      ].map((field) => call('type', field, { ok: true })),
      call('click', { selector: 'button[type=submit]' }, { navigated: 'https://portal.example.com/claims/CL-90012' }),
    ],
  },
  {
    name: 'browser/next-prev-between-two-pages',
    label: 'loop',
    why: 'clicks next, then previous, then next: the two page snapshots never change',
    actions: [
      call('goto', { url: 'https://shop.example.com/search?q=usb-c+hub' }, { title: 'Results 1-20', items: 20 }),
      ...rounds(3, () => [
        call('click', { selector: 'a[rel=next]' }, { url: 'https://shop.example.com/search?q=usb-c+hub&p=2', items: 20, first: 'Anker 7-in-1' }),
        call('click', { selector: 'a[rel=prev]' }, { url: 'https://shop.example.com/search?q=usb-c+hub&p=1', items: 20, first: 'UGREEN Revodok' }),
      ]),
    ],
  },
  {
    name: 'browser/menus-in-no-fixed-order',
    label: 'loop',
    why: 'opens the account menu, the help tooltip and the cart in no fixed order, nothing new after the first of each',
    actions: [
      call('goto', { url: 'https://portal.example.com/dashboard' }, { title: 'Dashboard' }),
      call('click', { selector: '#account-menu' }, { visible: ['Profile', 'Billing', 'Sign out'] }),
      call('hover', { selector: '#help' }, { tooltip: 'Need help? Chat with us.' }),
      call('click', { selector: '#cart' }, { items: 0 }),
      call('click', { selector: '#account-menu' }, { visible: ['Profile', 'Billing', 'Sign out'] }),
      call('click', { selector: '#cart' }, { items: 0 }),
      call('click', { selector: '#account-menu' }, { visible: ['Profile', 'Billing', 'Sign out'] }),
      call('hover', { selector: '#help' }, { tooltip: 'Need help? Chat with us.' }),
      call('click', { selector: '#account-menu' }, { visible: ['Profile', 'Billing', 'Sign out'] }),
      call('hover', { selector: '#help' }, { tooltip: 'Need help? Chat with us.' }),
      call('click', { selector: '#cart' }, { items: 0 }),
      call('click', { selector: '#account-menu' }, { visible: ['Profile', 'Billing', 'Sign out'] }),
      call('click', { selector: '#cart' }, { items: 0 }),
      call('click', { selector: '#account-menu' }, { visible: ['Profile', 'Billing', 'Sign out'] }),
    ],
  },
  {
    name: 'mail/triage-inbox-shrinks',
    label: 'ok',
    why: 'lists the inbox after each archive; the inbox changes every time',
    actions: rounds(5, (i) => [
      call('list_inbox', { folder: 'INBOX', unread: true }, { count: 5 - i, top: `msg-${300 + i}` }),
      call('archive', { id: `msg-${300 + i}` }, { ok: true }),
    ]),
  },
  {
    name: 'code-nav/four-step-circuit',
    label: 'loop',
    why: 'list, read, search, read, and the same four again: a period-4 cycle',
    actions: rounds(3, () => [
      call('list_dir', { path: 'persistence' }, { entries: ['store.ts', 'memory.ts', 'file.ts', 'redis.ts', 'scripts/'] }),
      call('read_file', { path: 'persistence/store.ts' }, { sha: 'f00d01', lines: 77 }),
      call('search_code', { query: 'compareAndSet' }, { hits: ['persistence/scripts/cas.lua:1', 'persistence/redis.ts:140'] }),
      call('read_file', { path: 'persistence/redis.ts' }, { sha: 'f00d02', lines: 310 }),
    ]),
  },
  {
    name: 'data/exports-in-chunks',
    label: 'ok',
    why: 'exports a table in chunks with a moving offset',
    actions: rounds(6, (i) => [call('export_rows', { table: 'events', offset: i * 10000, limit: 10000 }, { rows: i < 5 ? 10000 : 3120, file: `events-${i}.csv` })]),
  },
  {
    name: 'mail/inbox-unchanged-twice',
    label: 'ok',
    why: 'checks the inbox for a reply, it is unchanged twice, then the reply arrives',
    actions: [
      call('send_email', { to: 'vendor@supplier.example', subject: 'PO 7781 delivery date?' }, { messageId: 'out-118' }),
      call('list_inbox', { folder: 'INBOX', from: 'vendor@supplier.example' }, { count: 0 }),
      sleep30,
      call('list_inbox', { folder: 'INBOX', from: 'vendor@supplier.example' }, { count: 0 }),
      sleep30,
      call('list_inbox', { folder: 'INBOX', from: 'vendor@supplier.example' }, { count: 1, top: 'in-5530' }),
      call('read_email', { id: 'in-5530' }, { body: 'Delivery on 2026-11-28.' }),
    ],
  },
];
