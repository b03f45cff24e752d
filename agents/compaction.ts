import { planCompaction, type CompactionPlan, type CompactionPolicy } from '../guards/compaction.js';
import type { CompactInput } from '../machines/agent-machine.js';
import type { CompactionMarker, CompactionResult, Message, ModelSpend, TranscriptEntry } from '../machines/model-types.js';
import type { TranscriptStore } from '../persistence/transcript.js';
import { ModelCallError, ModelTimeoutError } from './errors.js';
import type { Model } from './model.js';

/** How a run compacts its transcript: the policy, and the model that writes summaries (null: a deterministic digest of tool calls and results). */
export interface CompactionSetup {
  readonly policy: CompactionPolicy;
  readonly summariser: Model | null;
}

/** The first line of every summary message, so that readers (and a later compaction) know it for what it is. */
export const SUMMARY_HEADER = '[Summary of earlier work, compacted by reins to stay within the context window]';

const isMessage = (e: TranscriptEntry): e is Message => e.role !== 'compaction';

function lastMarker(entries: readonly TranscriptEntry[]): CompactionMarker | null {
  for (let i = entries.length - 1; i >= 0; i--) {
    const e = entries[i]!;
    if (e.role === 'compaction') return e;
  }
  return null;
}

/** The message a compaction's summary is read as. */
export function summaryMessage(marker: CompactionMarker): Message {
  return { role: 'user', content: `${SUMMARY_HEADER} (${marker.by})\n${marker.summary}` };
}

/**
 * The transcript as the model reads it: raw entries with the latest
 * compaction applied (the goal, one summary in place of the compacted middle,
 * then every message from the first kept turn on). Each compaction covers the
 * previous one's range, so only the latest marker matters.
 *
 * A run reads the same (append-only) transcript array at every model call,
 * so its view is kept and extended by the entries added since the last call
 * instead of re-walking the whole history each turn; the caller gets a copy
 * (a model may keep its request).
 */
export function transcriptView(entries: readonly TranscriptEntry[]): Message[] {
  let known = views.get(entries);
  if (!known || known.seen > entries.length) views.set(entries, (known = { seen: 0, view: [] }));
  const added = entries.slice(known.seen);
  known.seen = entries.length;
  if (added.some((e) => e.role === 'compaction')) known.view = fullView(entries);
  else for (const e of added) if (isMessage(e)) known.view.push(e);
  return known.view.slice();
}

/** The view of a transcript array as far as it was read. */
interface KnownView {
  seen: number;
  view: Message[];
}

const views = new WeakMap<readonly TranscriptEntry[], KnownView>();

function fullView(entries: readonly TranscriptEntry[]): Message[] {
  const marker = lastMarker(entries);
  if (!marker) return entries.filter(isMessage);
  return [...entries.slice(0, marker.keep).filter(isMessage), summaryMessage(marker), ...entries.slice(marker.upTo).filter(isMessage)];
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}… (${text.length - max} more characters)` : text;
}

/** One message as a line (or a few) of plain text; `detail` bounds each part. */
function render(message: Message, detail: number): string[] {
  switch (message.role) {
    case 'user':
      return message.content.startsWith(SUMMARY_HEADER) ? [message.content] : [`- note to the agent: ${clip(message.content, detail)}`];
    case 'assistant': {
      const lines = message.content ? [`- agent said: ${clip(message.content, detail)}`] : [];
      for (const c of message.toolCalls) lines.push(`- agent called ${c.name}(${clip(c.arguments, Math.ceil(detail / 2))})`);
      return lines;
    }
    case 'tool':
      return [`  → ${message.tool} ${message.isError ? 'failed' : 'returned'}: ${clip(message.content, detail)}`];
  }
}

/**
 * A deterministic digest of messages: every call with its arguments and the
 * start of its result, an earlier summary kept whole (up to half the budget),
 * and when it does not fit, the most recent lines (older ones are counted).
 */
export function digest(messages: readonly Message[], maxChars: number): string {
  const earlier: string[] = [];
  const lines: string[] = [];
  for (const m of messages) {
    const rendered = render(m, 200);
    if (m.role === 'user' && m.content.startsWith(SUMMARY_HEADER)) earlier.push(clip(m.content.slice(m.content.indexOf('\n') + 1), Math.floor(maxChars / 2)));
    else lines.push(...rendered);
  }
  const head = earlier.length > 0 ? [`Earlier: ${earlier.join('\n')}`] : [];
  let budget = maxChars - head.reduce((n, l) => n + l.length + 1, 0);
  const kept: string[] = [];
  for (let i = lines.length - 1; i >= 0 && budget - lines[i]!.length - 1 >= 0; i--) {
    kept.unshift(lines[i]!);
    budget -= lines[i]!.length + 1;
  }
  const omitted = lines.length - kept.length;
  return [...head, ...(omitted > 0 ? [`(${omitted} older lines omitted)`] : []), ...kept].join('\n');
}

/** Longest history a summariser is sent, in characters (about 100k tokens): the summariser has a context window too. */
const MAX_SUMMARISER_INPUT_CHARS = 400_000;

const SUMMARISER_INSTRUCTIONS =
  "You compress an AI agent's working history so that it can go on with its task in less context. " +
  'Write a plain-text summary: facts learned (exact ids, numbers, names), actions taken and their results, what failed and why, ' +
  'and what remains to be done. Never invent anything that is not in the history.';

interface Summary {
  readonly text: string;
  readonly by: string;
  readonly spend: ModelSpend | null;
  /** Why the summariser was not used, when it failed and the digest stood in. */
  readonly fallback: string | null;
}

/** Asks the summariser; a provider failure or a reply that is not text falls back to the digest (a summariser's bug still throws). */
async function summarise(setup: CompactionSetup, input: CompactInput, replaced: readonly Message[], signal: AbortSignal): Promise<Summary> {
  const maxChars = setup.policy.maxSummaryChars;
  const fallbackTo = (why: string, spend: ModelSpend | null): Summary => ({ text: digest(replaced, maxChars), by: 'digest', spend, fallback: why });
  if (!setup.summariser) return { ...fallbackTo('', null), fallback: null };
  const history = replaced.flatMap((m) => render(m, 2_000)).join('\n');
  try {
    const response = await setup.summariser.generate({
      runId: input.runId,
      system: `${SUMMARISER_INSTRUCTIONS} At most ${maxChars} characters.`,
      messages: [{ role: 'user', content: `Goal of the agent: ${input.goal}\n\nHistory to summarise:\n${clip(history, MAX_SUMMARISER_INPUT_CHARS)}` }],
      tools: [],
      signal,
      idempotencyKey: `${input.idempotencyKey}:summary`,
      maxOutputTokens: Math.ceil(maxChars / 3),
    });
    const spend = { modelId: response.modelId, usage: response.usage };
    if (response.type !== 'answer') return fallbackTo(`the summariser replied with ${response.type}, not a summary`, spend);
    const text = typeof response.result === 'string' ? response.result : JSON.stringify(response.result);
    return { text: clip(text, maxChars), by: setup.summariser.id, spend, fallback: null };
  } catch (error) {
    if (error instanceof ModelCallError || error instanceof ModelTimeoutError) return fallbackTo(`the summariser failed: ${error.message}`, null);
    throw error;
  }
}

/** What one compaction did, for the machine (result) and the trace (the rest). */
export interface CompactionReport {
  readonly result: CompactionResult;
  readonly fallback: string | null;
  /** Messages the model read before and reads after. */
  readonly before: number;
  readonly after: number;
  readonly repeated: boolean;
}

/**
 * Compacts a run's transcript once for `input.step`: plans the cut, has the
 * middle summarised, and appends a marker keyed by the step. Idempotent: a
 * re-run after a crash finds its marker and reports it again without a
 * second summary (nor a second bill).
 */
export async function compactTranscript(
  transcripts: TranscriptStore<TranscriptEntry>,
  setup: CompactionSetup,
  input: CompactInput,
  signal: AbortSignal,
): Promise<CompactionReport> {
  const raw = await transcripts.read(input.runId);
  const before = transcriptView(raw).length;
  const done = raw.find((e): e is CompactionMarker => e.role === 'compaction' && e.step === input.step);
  if (done) {
    return { result: resultOf(done, transcriptView(raw).length, null), fallback: null, before, after: before, repeated: true };
  }
  const previous = lastMarker(raw);
  // Turns waiting in the inbox are kept anyway (they reach the transcript with the next call): keep fewer here.
  const keepTurns = Math.max(0, setup.policy.keepRecentTurns - input.pendingTurns);
  const plan: CompactionPlan | null = planCompaction(raw, keepTurns, previous && { keep: previous.keep, upTo: previous.upTo });
  const fresh = plan ? raw.slice(previous ? previous.upTo : plan.keep, plan.upTo).filter(isMessage) : [];
  if (!plan || fresh.length === 0) {
    return { result: { compacted: false, replaced: 0, kept: before, by: 'none', spend: null }, fallback: null, before, after: before, repeated: false };
  }
  const replaced = [...(previous ? [summaryMessage(previous)] : []), ...fresh];
  const summary = await summarise(setup, input, replaced, signal);
  const marker: CompactionMarker = {
    role: 'compaction',
    step: input.step,
    keep: plan.keep,
    upTo: plan.upTo,
    summary: summary.text,
    by: summary.by,
    reason: input.reason,
    // Kept with the marker so that a re-run after a crash reports what the summary cost.
    spend: summary.spend,
  };
  await transcripts.appendStep(input.runId, input.step, [marker]);
  const after = transcriptView([...raw, marker]).length;
  return { result: { ...resultOf(marker, after, summary.spend), replaced: replaced.length }, fallback: summary.fallback, before, after, repeated: false };
}

function resultOf(marker: CompactionMarker, kept: number, spend: ModelSpend | null): CompactionResult {
  return { compacted: true, replaced: marker.upTo - marker.keep, kept, by: marker.by, spend: spend ?? marker.spend ?? null };
}
