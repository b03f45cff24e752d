import { FatalToolError, RetryableToolError } from '../agents/errors.js';
import type { Reconciliation, ToolContext, ToolDefinition } from '../agents/tool.js';

/**
 * What one attempt of a mocked tool does:
 * - `{ returns }`: succeeds with this result;
 * - `{ retryable }` / `{ fatal }`: throws RetryableToolError / FatalToolError with this message;
 * - `'timeout'`: waits until the run's timeout (or a kill) aborts it;
 * - `'hang'`: never settles, ignoring its abort signal (a zombie call);
 * - `'in-doubt'`: takes effect, then never answers: the run's timeout ends it and the outcome is unknown to the run.
 */
export type MockAnswer = { readonly returns: unknown } | { readonly retryable: string } | { readonly fatal: string } | 'timeout' | 'hang' | 'in-doubt';

/** What a mock sees of one attempt. */
export interface MockCall {
  readonly input: unknown;
  /** 1-based, over every attempt this mock answered in the scenario. */
  readonly n: number;
  readonly ctx: ToolContext;
}

/**
 * How a mocked tool answers: one answer for every attempt, a list answered in
 * sequence (past its end: MockExhaustedError), or a function of the input.
 */
export type MockBehaviour = MockAnswer | readonly MockAnswer[] | ((call: MockCall) => MockAnswer);

/** What `reconcile` of a mocked tool answers: from its own ledger (default), always applied / not applied, or as the tool declares. */
export type MockReconcile = 'ledger' | 'applied' | 'not-applied' | 'none';

/** A tool's mock, as `scenario({ tools })` takes it. */
export interface MockTool {
  readonly name: string;
  readonly behaviour: MockBehaviour;
  /** Absent: the mock reconciles from its ledger when the real tool declares `reconcile`, and does not otherwise. */
  readonly reconcile?: MockReconcile;
}

/** A mocked tool was asked for more attempts than its list of answers has: a bug in the test, and the call did nothing (so not retried). */
export class MockExhaustedError extends FatalToolError {
  constructor(tool: string, n: number, length: number) {
    super(`mock ${tool} has ${length} answers but attempt ${n} was made`);
  }
}

/** Replaces a tool of the agent under test: its schema, side-effect class, retries, approvals and timeout stay the agent's own. */
export function mockTool(name: string, behaviour: MockBehaviour, options: { reconcile?: MockReconcile } = {}): MockTool {
  return { name, behaviour, ...(options.reconcile ? { reconcile: options.reconcile } : {}) };
}

/** One attempt of a tool, as a scenario records it. */
export interface CallRecord {
  readonly tool: string;
  readonly runId: string;
  readonly step: number;
  readonly attempt: number;
  readonly idempotencyKey: string;
  /** The logical call (run and step): every attempt, retry and re-run after a restore of one call shares it. */
  readonly logicalCall: string;
  readonly input: unknown;
  /** What the attempt did; `applied` tells whether its side effect took place (for a mock, exactly; for a real tool, whether it returned). */
  outcome: 'pending' | 'ok' | 'retryable' | 'fatal' | 'timeout' | 'hang' | 'in-doubt' | 'crash' | 'error';
  applied: boolean;
  result?: unknown;
  error?: string;
}

/**
 * A fault an explorer injects into one attempt, over whatever the tool (or its
 * mock) would do: a MockAnswer, or `crash`: the call takes effect and the
 * process dies before its result is recorded. null: the tool runs as it is.
 */
export type ToolFault = MockAnswer | 'crash';

/** Decides the fault of each attempt; `crash` is handed to `onCrash`. */
export interface FaultHook {
  fault(tool: ToolDefinition, ctx: ToolContext): ToolFault | null;
  onCrash(): void;
}

/** Every attempt of every tool in one scenario, in the order they started; shared by the tools it wraps. */
export class CallLog {
  calls: CallRecord[] = [];
  /** Set by an explorer: faults injected over the tools' own behaviour. */
  faults: FaultHook | null = null;
  /** Results of applied side effects by idempotency key: what a mock's `reconcile` reads. */
  readonly #ledger = new Map<string, unknown>();
  readonly #answered = new Map<string, number>();

  /** Wraps a tool so that every attempt is recorded; with a mock, the mock answers instead of the tool. */
  wrap(def: ToolDefinition, mock: MockTool | undefined): ToolDefinition {
    const reconcile = this.#reconcileOf(def, mock);
    return {
      ...def,
      run: async (input, ctx) => {
        const record: CallRecord = {
          tool: def.name,
          runId: ctx.runId,
          step: ctx.step,
          attempt: ctx.attempt,
          idempotencyKey: ctx.idempotencyKey,
          logicalCall: `${ctx.runId}#${ctx.step}`,
          input,
          outcome: 'pending',
          applied: false,
        };
        this.calls.push(record);
        const fault = this.faults?.fault(def, ctx) ?? null;
        if (fault === 'crash' || fault === 'in-doubt') return this.#effectThenSilence(def, record, mock, input, ctx, fault);
        if (fault !== null) return this.#answer(def.name, record, fault, ctx);
        if (!mock) return this.#real(def, record, input, ctx);
        const n = (this.#answered.get(def.name) ?? 0) + 1;
        this.#answered.set(def.name, n);
        return this.#answer(def.name, record, answerOf(mock, { input, n, ctx }), ctx);
      },
      reconcile,
    };
  }

  /** Resets the log for the next run of an explorer. */
  reset(): void {
    this.calls = [];
    this.#ledger.clear();
    this.#answered.clear();
  }

  /**
   * The call takes effect (the tool or its mock runs), then its answer is
   * lost: the process dies (`crash`), or the call never answers and its
   * timeout ends it (`in-doubt`).
   */
  async #effectThenSilence(def: ToolDefinition, record: CallRecord, mock: MockTool | undefined, input: unknown, ctx: ToolContext, fault: 'crash' | 'in-doubt'): Promise<unknown> {
    const n = (this.#answered.get(def.name) ?? 0) + 1;
    if (mock) this.#answered.set(def.name, n);
    await (mock ? this.#answer(def.name, record, answerOf(mock, { input, n, ctx }), ctx) : this.#real(def, record, input, ctx)).catch(() => undefined);
    record.outcome = fault;
    if (fault === 'crash') {
      this.faults?.onCrash();
      return new Promise(() => undefined);
    }
    return untilAborted(ctx.signal);
  }

  async #real(def: ToolDefinition, record: CallRecord, input: unknown, ctx: ToolContext): Promise<unknown> {
    try {
      const result = await def.run(input, ctx);
      record.outcome = 'ok';
      record.applied = true;
      record.result = result;
      this.#ledger.set(ctx.idempotencyKey, result);
      return result;
    } catch (error) {
      record.outcome = error instanceof RetryableToolError ? 'retryable' : error instanceof FatalToolError ? 'fatal' : 'error';
      record.error = (error as Error).message;
      throw error;
    }
  }

  #answer(tool: string, record: CallRecord, answer: MockAnswer, ctx: ToolContext): Promise<unknown> {
    if (answer === 'hang') {
      record.outcome = 'hang';
      return new Promise(() => undefined);
    }
    if (answer === 'timeout' || answer === 'in-doubt') {
      record.outcome = answer;
      if (answer === 'in-doubt') {
        record.applied = true;
        this.#ledger.set(ctx.idempotencyKey, { applied: true, tool });
      }
      return untilAborted(ctx.signal);
    }
    if ('returns' in answer) {
      record.outcome = 'ok';
      record.applied = true;
      record.result = answer.returns;
      this.#ledger.set(ctx.idempotencyKey, answer.returns);
      return Promise.resolve(answer.returns);
    }
    if ('retryable' in answer) {
      record.outcome = 'retryable';
      record.error = answer.retryable;
      return Promise.reject(new RetryableToolError(answer.retryable));
    }
    record.outcome = 'fatal';
    record.error = answer.fatal;
    return Promise.reject(new FatalToolError(answer.fatal));
  }

  #reconcileOf(def: ToolDefinition, mock: MockTool | undefined): ToolDefinition['reconcile'] {
    if (!mock) return def.reconcile;
    const mode = mock.reconcile ?? (def.reconcile ? 'ledger' : 'none');
    if (mode === 'none') return null;
    return (key): Reconciliation => {
      if (mode === 'applied') return { applied: true, result: this.#ledger.get(key) ?? null };
      if (mode === 'not-applied' || !this.#ledger.has(key)) return { applied: false };
      return { applied: true, result: this.#ledger.get(key) ?? null };
    };
  }
}

function answerOf(mock: MockTool, call: MockCall): MockAnswer {
  const b = mock.behaviour;
  if (typeof b === 'function') return b(call);
  if (Array.isArray(b)) {
    const list = b as readonly MockAnswer[];
    const answer = list[call.n - 1];
    if (answer === undefined) throw new MockExhaustedError(mock.name, call.n, list.length);
    return answer;
  }
  return b as MockAnswer;
}

/** Settles only when `signal` aborts (a timeout, a kill, the run stopping), rejecting with its reason. */
function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    else signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}
