import { z } from 'zod';
import { RetryableToolError } from '../../agents/errors.js';
import type { ScriptContext, ScriptStep } from '../../agents/scripted-model.js';
import { tool } from '../../agents/tool.js';
import { fleetAgent, numbered } from './scenario.js';
import { HANG_MS, latency, latencyOf } from './world.js';

const slug = (text: string) => text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');

const search = tool({
  name: 'search',
  description: 'Web search; returns titles and urls.',
  input: z.object({ query: z.string().min(2), limit: z.number().int().min(1).max(10).default(3) }),
  sideEffect: 'none',
  run: async ({ query, limit }, { signal }) => {
    await latency(latencyOf(`search:${query}`), signal);
    // The index holds nothing behind a paywall.
    if (/paywall/i.test(query)) return { query, results: [] };
    const results = Array.from({ length: limit }, (_, i) => ({ title: `${query} (${i + 1})`, url: `https://docs.example/${slug(query)}/${i + 1}` }));
    return { query, results };
  },
});

const fetchPage = tool({
  name: 'fetch_page',
  description: "A page's text.",
  input: z.object({ url: z.url() }),
  sideEffect: 'none',
  retry: { maxAttempts: 3, baseDelayMs: 10 },
  // A page is its text; a site that answers 200 with an error body has not given one.
  output: z.object({ url: z.string(), text: z.string(), error: z.string().optional() }),
  failsWhen: (page) => (page.error ? `the site answered 200 with an error body: ${page.error}` : null),
  run: async ({ url }, { signal, attempt }) => {
    const host = new URL(url).hostname;
    // busy.example answers its first request with HTTP 200 and {"success":false}: the hidden failure is caught and retried.
    if (host === 'busy.example' && attempt === 1) {
      await latency(latencyOf(url), signal);
      return { url, text: '', error: '{"success":false,"message":"upstream busy"}' };
    }
    // flaky.example answers 503 every time: the RETRY_LIMIT_REACHED scenario.
    if (host === 'flaky.example') {
      await latency(latencyOf(url), signal);
      throw new RetryableToolError(`HTTP 503 from ${host}`);
    }
    // slow.example streams a huge report for longer than any run may live: the TIMEOUT scenario.
    await latency(host === 'slow.example' ? HANG_MS : latencyOf(url), signal);
    return { url, text: `Notes on ${new URL(url).pathname.split('/').filter(Boolean).join(' ')}: actors, supervision, durable state.` };
  },
});

const summarize = tool({
  name: 'summarize',
  description: 'Shortens a text to at most maxWords words.',
  input: z.object({ text: z.string().min(1), maxWords: z.number().int().min(5).max(200).default(20) }),
  sideEffect: 'none',
  run: async ({ text, maxWords }, { signal }) => {
    await latency(latencyOf(`summarize:${text}`), signal);
    return { summary: text.split(/\s+/).slice(0, maxWords).join(' ') };
  },
});

/** The research agent: searches, reads pages, summarises. */
export const research = fleetAgent({
  id: 'research',
  modelLatencyMs: 45,
  instructions: 'You are a research assistant. Cite the pages you used.',
  tools: [search, fetchPage, summarize],
});

const find = (query: string): ScriptStep => ({ call: 'search', args: { query } });
const read = (url: string): ScriptStep => ({ call: 'fetch_page', args: { url } });
const docs = (query: string, n = 1) => `https://docs.example/${slug(query)}/${n}`;

/** A long-context turn: what a run that reads whole documents spends per call. */
const heavy = (step: ScriptStep, inputTokens: number): ScriptStep => ({ ...step, usage: { inputTokens, outputTokens: 300 } });

/** Search, read the top hit, answer with it: the ordinary research run. */
const lookUp = (query: string) => ({
  goal: `Find out: ${query}`,
  expected: 'COMPLETED' as const,
  script: [find(query), read(docs(query)), { answer: { query, source: docs(query) } }],
});

/** Repeats one search until the supervisor warns, then changes approach; `stubborn` never does. */
function repeatSearch(query: string, stubborn: boolean) {
  return ({ messages, lastResults }: ScriptContext): ScriptStep => {
    const warned = messages.some((m) => m.role === 'user' && m.content.startsWith('Supervisor warning'));
    if (!warned || stubborn) return find(query);
    return lastResults.some((r) => r.tool === 'fetch_page') ? { answer: { query, source: docs(query) } } : read(docs(query));
  };
}

/** The research runs of the fleet. */
export const researchScenarios = numbered(research, [
  {
    goal: 'What is the actor model in XState, in two sentences?',
    expected: 'COMPLETED',
    script: [
      find('xstate actor model'),
      read(docs('xstate actor model')),
      { call: 'summarize', args: { text: 'Actors are independent units that hold state and talk only through events.', maxWords: 12 } },
      { answer: { summary: 'Actors hold state and communicate by events.', source: docs('xstate actor model') } },
    ],
  },
  {
    goal: 'Compare Redis Streams consumer groups with Kafka consumer groups.',
    expected: 'COMPLETED',
    script: [
      { calls: [{ name: 'search', args: { query: 'redis streams consumer groups' } }, { name: 'search', args: { query: 'kafka consumer groups' } }] },
      read(docs('redis streams consumer groups')),
      { answer: { verdict: 'both track per-consumer offsets; Redis claims stuck entries with XAUTOCLAIM' } },
    ],
  },
  {
    goal: 'Find the release date of xstate v6.',
    expected: 'LOOP_DETECTED',
    script: repeatSearch('xstate v6 release date', true),
  },
  {
    goal: 'Who maintains pino?',
    expected: 'COMPLETED',
    // Warned once for repeating itself, it reads a page instead and finishes: a healthy run.
    script: repeatSearch('pino maintainers', false),
  },
  {
    goal: 'Summarise the status report at https://flaky.example/status.',
    expected: 'RETRY_LIMIT_REACHED',
    script: [read('https://flaky.example/status')],
  },
  {
    goal: 'Archive the annual report at https://slow.example/annual-report.',
    expected: 'TIMEOUT',
    // Long enough for the page fetch to start even on a busy store; the fetch itself never ends.
    limits: { maxWallClockMs: 2_000 },
    script: [read('https://slow.example/annual-report')],
  },
  {
    goal: 'Literature review of agent supervision, reading every paper in full.',
    expected: 'BUDGET_EXCEEDED',
    limits: { maxCostUsd: 0.04 },
    script: ({ turn }) => heavy(find(`agent supervision paper ${turn}`), 3_000),
  },
  {
    goal: 'Crawl the whole documentation site and index it.',
    expected: 'USER_KILLED',
    control: 'kill',
    // Would run until its budget; the operator kills it first (see operator.ts).
    script: ({ turn }) => heavy(read(`https://docs.example/crawl/${turn}`), 2_000),
  },
  {
    goal: 'Get the full text of the paywalled 2031 analyst report on agents.',
    expected: 'INFEASIBLE',
    script: [find('paywalled 2031 analyst report agents'), { giveUp: 'the report is only behind a paywall; no public copy exists' }],
  },
  {
    goal: "Which page ranks first for 'durable execution'?",
    expected: 'INTERNAL_ERROR',
    // A model-adapter bug: it reads `hits`, but the search tool returns `results`. A plain TypeError, not a provider failure.
    script: ({ turn, lastResults }) => {
      if (turn === 1) return find('durable execution');
      const top = (JSON.parse(lastResults[0]!.content) as { hits: Array<{ url: string }> }).hits[0]!;
      return { answer: top.url };
    },
  },
  lookUp('what is OpenTelemetry GenAI semantic conventions'),
  lookUp('how does XAUTOCLAIM work'),
  {
    goal: 'What does the status page at https://busy.example/status say?',
    expected: 'COMPLETED',
    // The first fetch is a 200 with {"success":false}: a failure the output check catches and retries; the second is the page.
    script: [read('https://busy.example/status'), { answer: { source: 'https://busy.example/status', status: 'all systems normal' } }],
  },
]);
