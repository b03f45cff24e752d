import type { TerminalOutcome } from '../machines/outcome.js';
import type { AgentRun } from './agent-run.js';
import type { RetentionReport } from './retention.js';
import type { Transition } from './status.js';

/** One model or tool call as the trace records it: when it ended, how long it took, what it spent. */
export interface CallRecord {
  readonly at: number;
  /** judge, compaction and verify are the calls a progress judge, a summariser or an answer check makes. */
  readonly kind: 'model' | 'tool' | 'judge' | 'compaction' | 'verify';
  readonly step: number;
  readonly attempt: number;
  readonly latencyMs: number;
  readonly tool?: string;
  readonly model?: string;
  readonly ok?: boolean;
  readonly error?: string;
  readonly usage?: { inputTokens: number; outputTokens: number; cachedInputTokens?: number; reasoningTokens?: number };
  readonly finishReason?: string;
  readonly [key: string]: unknown;
}

/**
 * Watches the runs a Supervisor hosts: telemetry (metrics, OpenTelemetry
 * spans, the console's live feed) plugs in here without touching the
 * lifecycle. Observers must not throw; a throw is logged and ignored.
 */
export interface RunObserver {
  /** A run started or was rehydrated in this process. */
  onRunStart?(run: AgentRun, info: { readonly resumed: boolean }): void;
  onTransition?(run: AgentRun, transition: Transition & { readonly step: number }): void;
  onCall?(run: AgentRun, call: CallRecord): void;
  /** The run ended; its terminal record is durable. */
  onOutcome?(run: AgentRun, outcome: TerminalOutcome): void;
  /** The Supervisor's retention swept the store (see SupervisorOptions.retention). */
  onRetention?(report: RetentionReport): void;
}
