/** What the journal knows about an idempotency key before the call. */
export type JournalLookup =
  | { readonly kind: 'fresh' }
  | { readonly kind: 'done'; readonly result: unknown }
  /** `started` was recorded but never `done`: the process stopped during the call, its outcome is unknown. */
  | { readonly kind: 'interrupted' };

/**
 * Checkpoint before action: `begin` makes `started` durable (after the run's
 * snapshot is) before the call; `finish` records the result. A durable run's
 * actors go through it; an in-memory run has none.
 */
export interface CallJournal {
  begin(key: string, step: number, signal: AbortSignal): Promise<JournalLookup>;
  finish(key: string, step: number, result: unknown): Promise<void>;
}
