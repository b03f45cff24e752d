import { context, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Span, type Tracer } from '@opentelemetry/api';
import { groupOf } from '../../machines/outcome.js';
import type { AgentRun } from '../agent-run.js';
import type { CallRecord, RunObserver } from '../observer.js';
import { ERROR_TYPE, GEN_AI, REINS } from './genai.js';

/** The instrumentation scope name spans are reported under. */
export const TRACER_NAME = 'reins';

/** `error.type` for a failed call: the trace records the error's message, which is not a low-cardinality class. */
const OTHER_ERROR = '_OTHER';

export interface OtelObserverOptions {
  /** Defaults to `trace.getTracer('reins')`: the global provider's, a no-op until an SDK registers one. */
  readonly tracer?: Tracer;
  /**
   * `gen_ai.provider.name` of chat spans (e.g. 'openai'): a fixed name, or
   * one per model id. Call records do not say which provider answered, so
   * without this the attribute is left out.
   */
  readonly providerName?: string | ((modelId: string) => string | undefined);
}

/** A run being traced: its span, and the context its calls' spans are children of. */
interface RunTrace {
  readonly span: Span;
  readonly context: Context;
}

/**
 * A RunObserver that emits OpenTelemetry spans following the GenAI semantic
 * conventions: `invoke_agent {agent}` per run (per hosting, for a resumed
 * run), with `execute_tool {tool}` per tool attempt and `chat {model}` per
 * model call as its children; the run span ends at the outcome with the
 * terminal reason and its group, status ERROR for a broken reason.
 *
 * Without a registered SDK the tracer is a no-op: each run costs one
 * non-recording span and nothing else (no attributes are built, no call
 * span is started, nothing is kept).
 */
export function otelObserver(options: OtelObserverOptions = {}): RunObserver {
  const tracer = options.tracer ?? trace.getTracer(TRACER_NAME);
  const provider = options.providerName;
  const providerOf = typeof provider === 'function' ? provider : () => provider;
  // Keyed by the run object: a run that stops without an outcome (lease lost, supervisor closed) leaves nothing behind.
  const traced = new WeakMap<AgentRun, RunTrace>();

  return {
    onRunStart(run, info) {
      // A run started from a traced request (say, the console's) is that request's child.
      const parent = context.active();
      const span = tracer.startSpan(
        `invoke_agent ${run.agentId}`,
        { kind: SpanKind.INTERNAL, attributes: { [GEN_AI.operationName]: 'invoke_agent', [GEN_AI.agentName]: run.agentId } },
        parent,
      );
      if (!span.isRecording()) return;
      span.setAttributes({
        [GEN_AI.agentId]: run.agentId,
        [GEN_AI.conversationId]: run.runId,
        [REINS.runId]: run.runId,
        [REINS.resumed]: info.resumed,
      });
      traced.set(run, { span, context: trace.setSpan(parent, span) });
    },

    onCall(run, call) {
      const runTrace = traced.get(run);
      if (!runTrace) return;
      // The trace also carries progress checks and compactions; `kind` is wider than CallRecord's type says.
      const kind: string = call.kind;
      if (kind === 'tool') toolSpan(tracer, runTrace, run, call);
      // A helper's model call (a model judge, a summariser) is a chat too; a heuristic judge asks no model.
      else if (kind === 'model' || ((kind === 'judge' || kind === 'compaction') && typeof call.model === 'string')) chatSpan(tracer, runTrace, call, providerOf);
    },

    onOutcome(run, outcome) {
      const runTrace = traced.get(run);
      if (!runTrace) return;
      traced.delete(run);
      const group = groupOf(outcome.reason);
      const { span } = runTrace;
      span.setAttributes({
        [REINS.terminalReason]: outcome.reason,
        [REINS.terminalGroup]: group,
        [REINS.turns]: outcome.turns,
        [REINS.costKnown]: outcome.usage.costKnown,
        [GEN_AI.inputTokens]: outcome.usage.inputTokens,
        [GEN_AI.outputTokens]: outcome.usage.outputTokens,
        ...(outcome.usage.costKnown ? { [REINS.costUsd]: outcome.usage.costUsd } : {}),
      });
      // Broken is what pages; an exhausted budget or a deadline is the run's limits working, not an error.
      if (group === 'broken') {
        span.setAttribute(ERROR_TYPE, outcome.reason);
        span.setStatus({ code: SpanStatusCode.ERROR, message: outcome.reason });
      }
      span.end(outcome.endedAt);
    },
  };
}

/** Start and end times of a call: the record is written when the call ends and says how long it took. */
function timesOf(call: CallRecord): { start: number; end: number } {
  const latency = typeof call.latencyMs === 'number' && call.latencyMs > 0 ? call.latencyMs : 0;
  return { start: call.at - latency, end: call.at };
}

/** Marks a failed call's span: error.type is the error's class when the record names it. */
function markFailed(span: Span, call: CallRecord): void {
  span.setAttribute(ERROR_TYPE, typeof call.errorName === 'string' ? call.errorName : OTHER_ERROR);
  span.setStatus({ code: SpanStatusCode.ERROR, ...(typeof call.error === 'string' ? { message: call.error } : {}) });
}

/** One `execute_tool {tool}` span per tool attempt. */
function toolSpan(tracer: Tracer, runTrace: RunTrace, run: AgentRun, call: CallRecord): void {
  const tool = call.tool ?? 'unknown';
  const { start, end } = timesOf(call);
  const attributes: Attributes = {
    [GEN_AI.operationName]: 'execute_tool',
    [GEN_AI.toolName]: tool,
    [GEN_AI.toolType]: 'function',
    [REINS.step]: call.step,
    [REINS.attempt]: call.attempt,
  };
  const callId = toolCallId(run, call);
  if (callId !== null) attributes[GEN_AI.toolCallId] = callId;
  const span = tracer.startSpan(`execute_tool ${tool}`, { kind: SpanKind.INTERNAL, startTime: start, attributes }, runTrace.context);
  if (call.ok === false) markFailed(span, call);
  span.end(end);
}

/**
 * The model's id for the call being recorded. The trace entry does not
 * carry it, but it is written while the machine still holds the call in
 * `context.current` (the actor has not yet returned), so it is read there,
 * checked against the record's tool and step.
 */
function toolCallId(run: AgentRun, call: CallRecord): string | null {
  if (typeof call.callId === 'string') return call.callId;
  const current = run.actor.getSnapshot().context.current;
  return current && current.call.name === call.tool && current.step === call.step ? current.call.id : null;
}

/** One `chat {model}` span per model call (and per helper model call). */
function chatSpan(tracer: Tracer, runTrace: RunTrace, call: CallRecord, providerOf: (modelId: string) => string | undefined): void {
  const model = typeof call.model === 'string' ? call.model : null;
  const { start, end } = timesOf(call);
  const attributes: Attributes = { [GEN_AI.operationName]: 'chat', [REINS.step]: call.step };
  if (typeof call.attempt === 'number') attributes[REINS.attempt] = call.attempt;
  if (call.kind !== 'model') attributes[REINS.callKind] = call.kind;
  if (model !== null) {
    // The record names the model that answered; reins asked for the model it is configured with, under the same id.
    attributes[GEN_AI.requestModel] = model;
    attributes[GEN_AI.responseModel] = model;
    const provider = providerOf(model);
    if (provider) attributes[GEN_AI.providerName] = provider;
  }
  const usage = call.usage;
  if (usage) {
    attributes[GEN_AI.inputTokens] = usage.inputTokens;
    attributes[GEN_AI.outputTokens] = usage.outputTokens;
    if (usage.cachedInputTokens !== undefined) attributes[GEN_AI.cacheReadInputTokens] = usage.cachedInputTokens;
    if (usage.reasoningTokens !== undefined) attributes[GEN_AI.reasoningOutputTokens] = usage.reasoningTokens;
  }
  if (typeof call.finishReason === 'string') attributes[GEN_AI.responseFinishReasons] = [call.finishReason];
  if (typeof call.costUsd === 'number') attributes[REINS.costUsd] = call.costUsd;
  // A model span with no model (a failed call) is named by its operation alone, as the conventions say.
  const span = tracer.startSpan(model === null ? 'chat' : `chat ${model}`, { kind: SpanKind.CLIENT, startTime: start, attributes }, runTrace.context);
  if (typeof call.error === 'string') markFailed(span, call);
  span.end(end);
}
