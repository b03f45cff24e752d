import { z } from 'zod';
import { CircuitPolicy } from '../guards/circuit.js';
import { RetryPolicy, type SideEffect } from '../guards/retry.js';

/** What a tool's `run` receives besides its input. */
export interface ToolContext {
  readonly runId: string;
  /** (run, step, attempt): pass it to the external system so it can deduplicate. */
  readonly idempotencyKey: string;
  readonly step: number;
  readonly attempt: number;
  /** Aborted on timeout, kill, or when the run stops: long calls must honour it. */
  readonly signal: AbortSignal;
}

/** What `reconcile` says about an attempt whose outcome was unknown. */
export type Reconciliation = { applied: true; result: unknown } | { applied: false };

/** Options for `tool()`; `sideEffect` is required because a wrong default would retry a payment. */
export interface ToolOptions<S extends z.ZodType> {
  name: string;
  description: string;
  input: S;
  /** none: read-only; idempotent: repeating with the same input is harmless; non-idempotent: never repeated blindly. */
  sideEffect: SideEffect;
  timeoutMs?: number;
  retry?: z.input<typeof RetryPolicy>;
  circuit?: z.input<typeof CircuitPolicy>;
  /** true, or a predicate on the validated input: the call waits for an operator's APPROVE. */
  approval?: boolean | ((input: z.output<S>) => boolean);
  run: (input: z.output<S>, ctx: ToolContext) => Promise<unknown> | unknown;
  /** Finds out whether an attempt with this key took effect (e.g. look the payment up by key). */
  reconcile?: (idempotencyKey: string, input: z.output<S>, ctx: { signal: AbortSignal }) => Promise<Reconciliation> | Reconciliation;
}

/** A tool with its policies resolved; built by `tool()`. */
export interface ToolDefinition {
  readonly name: string;
  readonly description: string;
  readonly input: z.ZodType;
  readonly sideEffect: SideEffect;
  readonly timeoutMs: number;
  readonly retry: RetryPolicy;
  readonly circuit: CircuitPolicy;
  readonly requiresApproval: (input: unknown) => boolean;
  readonly run: (input: unknown, ctx: ToolContext) => Promise<unknown> | unknown;
  readonly reconcile: ((idempotencyKey: string, input: unknown, ctx: { signal: AbortSignal }) => Promise<Reconciliation> | Reconciliation) | null;
}

export const DEFAULT_TOOL_TIMEOUT_MS = 30_000;
const ToolName = z.string().regex(/^[a-zA-Z][a-zA-Z0-9_-]{0,63}$/, 'tool names are 1-64 letters, digits, _ or -, starting with a letter');

/** Declares a tool: a zod input schema, a side-effect class, and the policies the supervisor applies to it. */
export function tool<S extends z.ZodType>(options: ToolOptions<S>): ToolDefinition {
  ToolName.parse(options.name);
  const approval = options.approval ?? false;
  return {
    name: options.name,
    description: options.description,
    input: options.input,
    sideEffect: options.sideEffect,
    timeoutMs: options.timeoutMs ?? DEFAULT_TOOL_TIMEOUT_MS,
    retry: RetryPolicy.parse(options.retry ?? {}),
    circuit: CircuitPolicy.parse(options.circuit ?? {}),
    requiresApproval: typeof approval === 'function' ? (input) => approval(input as z.output<S>) : () => approval,
    run: options.run as ToolDefinition['run'],
    reconcile: (options.reconcile as ToolDefinition['reconcile']) ?? null,
  };
}
