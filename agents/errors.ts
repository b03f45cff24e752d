/** Base of every error reins raises on purpose; `kind` is the tag to switch on, never the message. */
export class ReinsError extends Error {
  readonly kind: string;
  constructor(kind: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.kind = kind;
    this.name = new.target.name;
  }
}

/** Thrown by a tool that knows it did nothing (e.g. a 503 before the request was accepted): safe to retry. */
export class RetryableToolError extends ReinsError {
  readonly retryable = true;
  constructor(message: string, options?: ErrorOptions) {
    super('retryable-tool-error', message, options);
  }
}

/** Thrown by a tool whose failure no retry can fix (bad credentials, 4xx): the run ends TOOL_FAILURE. */
export class FatalToolError extends ReinsError {
  readonly retryable = false;
  constructor(message: string, options?: ErrorOptions) {
    super('fatal-tool-error', message, options);
  }
}

/** A tool call that outlived its `timeoutMs`; its signal has been aborted. */
export class ToolTimeoutError extends ReinsError {
  constructor(tool: string, timeoutMs: number) {
    super('tool-timeout', `${tool} did not settle within ${timeoutMs} ms`);
  }
}

/** A provider failure classified by the adapter (429 and 5xx retryable, 4xx not); any other throw from a model is a bug. */
export class ModelCallError extends ReinsError {
  readonly retryable: boolean;
  readonly status: number | null;
  constructor(message: string, options: { retryable: boolean; status?: number | null; cause?: unknown }) {
    super('model-call-error', message, { cause: options.cause });
    this.retryable = options.retryable;
    this.status = options.status ?? null;
  }
}

/** A model call that outlived the agent's `modelTimeoutMs`. */
export class ModelTimeoutError extends ReinsError {
  constructor(timeoutMs: number) {
    super('model-timeout', `the model did not answer within ${timeoutMs} ms`);
  }
}

/** A scripted model asked for a turn its script does not have: a bug in the test or demo, not a provider failure. */
export class ScriptExhaustedError extends ReinsError {
  constructor(turn: number, length: number) {
    super('script-exhausted', `scripted model has ${length} steps but turn ${turn} was requested`);
  }
}

/** An operator command for a run that does not exist, or is in no state to take it. */
export class RunNotFoundError extends ReinsError {
  constructor(runId: string) {
    super('run-not-found', `no run with id ${runId}`);
  }
}
