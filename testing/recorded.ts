import { z } from 'zod';
import { RunNotFoundError } from '../agents/errors.js';
import type { ScriptContext, ScriptStep } from '../agents/scripted-model.js';
import { Message } from '../machines/model-types.js';
import type { TerminalOutcome } from '../machines/outcome.js';
import type { TraceEntry } from '../persistence/records.js';
import type { SnapshotStore } from '../persistence/store.js';
import type { MockAnswer, MockTool } from './mock-tool.js';
import type { AgentScript } from './redefine.js';

/** One tool attempt as it was recorded: the call's input and what the attempt answered. */
export interface RecordedAttempt {
  readonly tool: string;
  readonly input: unknown;
  readonly answer: MockAnswer;
}

/** What one run (the root, or a pipeline's child) did, as a fixture replays it. */
export interface RecordedRunPart {
  readonly agentId: string;
  /** The model's turns, in order: its tool calls, then its final decision when the run ended on one. */
  readonly model: readonly ScriptStep[];
  /** Every tool attempt, in order. */
  readonly tools: readonly RecordedAttempt[];
  /** Operator decisions on approvals, in order ('approve', 'expire', { reject }). */
  readonly approvals: ReadonlyArray<'approve' | 'expire' | { readonly reject: string }>;
  readonly outcome: TerminalOutcome | null;
}

/** A stored run as a fixture: JSON, written by `reins record <run>` or fromRecorded. */
export interface RecordedRun {
  readonly fixture: 'reins.recorded-run';
  readonly version: 1;
  readonly runId: string;
  readonly agentId: string;
  /** A pipeline's input (an agent's run stores its goal, not its input: pass `input` to the scenario). */
  readonly input: unknown;
  readonly outcome: TerminalOutcome | null;
  /** The root run and every child run, by run id. */
  readonly runs: Readonly<Record<string, RecordedRunPart>>;
}

/** Where a replay first went another way than its recording. */
export interface Divergence {
  readonly runId: string;
  /** `tool`: a call with other input, or one the recording does not have; `model`: a turn past the recording; `outcome`: another ending. */
  readonly at: 'tool' | 'model' | 'outcome';
  /** The tool attempt (1-based, over the run's attempts) or model turn where it diverged. */
  readonly index: number;
  readonly expected: unknown;
  readonly actual: unknown;
  readonly message: string;
}

const ToolTrace = z.looseObject({ kind: z.literal('tool'), tool: z.string(), step: z.number(), ok: z.boolean(), error: z.string().optional() });
const TransitionTrace = z.looseObject({ kind: z.literal('transition'), event: z.string(), to: z.string() });

/** The model's last word, from the outcome: what the replayed model answers after its recorded tool calls. */
function finalStep(outcome: TerminalOutcome | null): ScriptStep[] {
  if (!outcome) return [];
  switch (outcome.reason) {
    case 'COMPLETED':
      return [{ answer: outcome.result }];
    case 'INFEASIBLE':
      return [{ giveUp: outcome.explanation }];
    case 'ESCALATED':
      return outcome.by === 'agent' ? [{ escalate: outcome.why }] : [];
    case 'MODEL_REFUSED':
      return outcome.finishReason === 'length' ? [] : [{ refuse: outcome.message, finishReason: outcome.finishReason === 'refusal' ? 'refusal' : 'content_filter' }];
    default:
      return [];
  }
}

/** The run's tool attempts: inputs from the model's calls, answers from the trace and the results the model was shown. */
function attemptsOf(messages: readonly Message[], trace: readonly TraceEntry[]): RecordedAttempt[] {
  const inputs = new Map<string, unknown[]>();
  const results = new Map<string, unknown[]>();
  for (const m of messages) {
    if (m.role === 'assistant') for (const c of m.toolCalls) inputs.set(c.name, [...(inputs.get(c.name) ?? []), safeJson(c.arguments)]);
    if (m.role === 'tool' && !m.isError) {
      const content = safeJson(m.content) as { note?: string; result?: unknown } | null;
      // An edited call's message wraps its result with a note for the model.
      results.set(m.tool, [...(results.get(m.tool) ?? []), content && typeof content === 'object' && 'note' in content ? content.result : content]);
    }
  }
  const entries = trace.flatMap((e) => {
    const parsed = ToolTrace.safeParse(e);
    return parsed.success ? [parsed.data] : [];
  });
  const callIndex = new Map<string, number>();
  const stepsSeen = new Map<string, number[]>();
  return entries.map((e, i) => {
    const steps = stepsSeen.get(e.tool) ?? [];
    if (!steps.includes(e.step)) steps.push(e.step);
    stepsSeen.set(e.tool, steps);
    const input = inputs.get(e.tool)?.[steps.indexOf(e.step)] ?? null;
    if (e.ok) {
      const n = callIndex.get(e.tool) ?? 0;
      callIndex.set(e.tool, n + 1);
      return { tool: e.tool, input, answer: { returns: results.get(e.tool)?.[n] ?? null } };
    }
    const retried = entries.slice(i + 1).some((later) => later.tool === e.tool && later.step === e.step);
    const message = e.error ?? 'recorded failure';
    return { tool: e.tool, input, answer: retried ? { retryable: message } : { fatal: message } };
  });
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** Operator decisions on approvals, from the transitions the trace kept. */
function approvalsOf(trace: readonly TraceEntry[]): RecordedRunPart['approvals'] {
  const out: Array<'approve' | 'expire' | { reject: string }> = [];
  for (const e of trace) {
    const t = TransitionTrace.safeParse(e);
    if (!t.success) continue;
    if (t.data.event === 'APPROVE') out.push('approve');
    else if (t.data.event === 'REJECT') out.push({ reject: 'rejected (recorded)' });
    else if (t.data.event.startsWith('xstate.after') && t.data.to.includes('escalat')) out.push('expire');
  }
  return out;
}

async function partOf(store: SnapshotStore, runId: string): Promise<Array<[string, RecordedRunPart]>> {
  const record = await store.load(runId);
  if (!record) throw new RunNotFoundError(runId);
  const messages = (await store.transcriptRead(runId)).flatMap((e) => {
    const m = Message.safeParse(e);
    return m.success ? [m.data] : [];
  });
  const trace = await store.traceRead(runId);
  const outcome = (record.outcome as TerminalOutcome | null) ?? null;
  const calls: ScriptStep[] = messages.flatMap((m) =>
    m.role === 'assistant' && m.toolCalls.length > 0 ? [{ calls: m.toolCalls.map((c) => ({ name: c.name, rawArgs: c.arguments })), text: m.content }] : [],
  );
  const part: RecordedRunPart = { agentId: record.summary.agentId, model: [...calls, ...finalStep(outcome)], tools: attemptsOf(messages, trace), approvals: approvalsOf(trace), outcome };
  const children = await store.list({ parentId: runId });
  const nested = await Promise.all(children.map((c) => partOf(store, c.runId)));
  return [[runId, part], ...nested.flat()];
}

/** Turns a stored run (and its children) into a fixture: the model's turns, the tools' answers, the operators' decisions, the outcome. */
export async function fromRecorded(store: SnapshotStore, runId: string): Promise<RecordedRun> {
  const record = await store.load(runId);
  if (!record) throw new RunNotFoundError(runId);
  const context = (record.snapshot as { context?: { input?: unknown } } | null)?.context;
  return {
    fixture: 'reins.recorded-run',
    version: 1,
    runId,
    agentId: record.summary.agentId,
    input: context?.input ?? null,
    outcome: (record.outcome as TerminalOutcome | null) ?? null,
    runs: Object.fromEntries(await partOf(store, runId)),
  };
}

/**
 * Scripts that replay a recording: each run's model says what it said, each
 * tool attempt answers what it answered; the first call where the agent as it
 * is now asks for something else is reported to `onDivergence`.
 */
export function replayScripts(recorded: RecordedRun, scripts: ReadonlyMap<string, AgentScript>, onDivergence: (d: Divergence) => void): Map<string, AgentScript> {
  const out = new Map(scripts);
  const byAgent = new Map<string, string[]>();
  for (const [runId, part] of Object.entries(recorded.runs)) byAgent.set(part.agentId, [...(byAgent.get(part.agentId) ?? []), runId]);
  const attempts = new Map<string, number>();
  for (const [agentId, runIds] of byAgent) {
    const tools = new Set(runIds.flatMap((id) => recorded.runs[id]!.tools.map((t) => t.tool)));
    const mocks: MockTool[] = [...tools].map((tool) => ({
      name: tool,
      behaviour: ({ input, ctx }) => {
        const n = (attempts.get(ctx.runId) ?? 0) + 1;
        attempts.set(ctx.runId, n);
        const expected = recorded.runs[ctx.runId]?.tools[n - 1];
        if (!expected || expected.tool !== tool || JSON.stringify(expected.input) !== JSON.stringify(input)) {
          onDivergence({
            runId: ctx.runId,
            at: 'tool',
            index: n,
            expected: expected ? { tool: expected.tool, input: expected.input } : null,
            actual: { tool, input },
            message: expected ? `attempt ${n} called ${tool} with ${JSON.stringify(input)}; the recording called ${expected.tool} with ${JSON.stringify(expected.input)}` : `attempt ${n} called ${tool}; the recording has no attempt ${n}`,
          });
          return { fatal: 'the replay diverged from its recording here' };
        }
        return expected.answer;
      },
    }));
    const model = (ctx: ScriptContext): ScriptStep => {
      const step = recorded.runs[ctx.runId]?.model[ctx.turn - 1];
      if (step) return step;
      onDivergence({ runId: ctx.runId, at: 'model', index: ctx.turn, expected: null, actual: `turn ${ctx.turn}`, message: `the run asked for model turn ${ctx.turn}; the recording has ${recorded.runs[ctx.runId]?.model.length ?? 0}` });
      return { giveUp: 'the replay diverged from its recording here' };
    };
    out.set(agentId, { model, tools: [...(scripts.get(agentId)?.tools ?? []).filter((m) => !tools.has(m.name)), ...mocks] });
  }
  return out;
}

/** The approvals of a recording's root run, for the scenario's driver. */
export function recordedApprovals(recorded: RecordedRun): RecordedRunPart['approvals'] {
  return recorded.runs[recorded.runId]?.approvals ?? [];
}
