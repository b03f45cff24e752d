/** What the journal knows about an idempotency key before the call. */
export type JournalLookup =
  | { readonly kind: 'fresh' }
  | { readonly kind: 'done'; readonly result: unknown }
  /**
   * `started` was recorded but never `done`: the process stopped during the call, its outcome is unknown.
   * `closesAt` is when its previous owner can no longer be running it (that lease's expiry plus the call's
   * timeout): reconciling or retrying before then could race the previous owner's late call.
   */
  | { readonly kind: 'interrupted'; readonly closesAt: number };

/**
 * What a call costs if a crash makes the run repeat it, which decides how
 * durable the run must be before it starts:
 * - `acts`: it changes the world (a tool with side effects). Checkpoint
 *   before action: the snapshot that holds the call, then `started`, are
 *   durable before it runs.
 * - `billed`: it costs money (a model, a judge, a summariser). Everything
 *   before it is durable, so a crash never repeats a call whose result was
 *   already known.
 * - `pure`: a tool without side effects. It starts once the store is at most
 *   one write behind; a crash may repeat it, which costs nothing.
 */
export type CallKind = 'acts' | 'billed' | 'pure';

/**
 * `begin` says whether the call already happened (and makes the run as
 * durable as the call's kind asks); `finish` records the result. A durable
 * run's actors go through it; an in-memory run has none.
 */
export interface CallJournal {
  /** `timeoutMs` is the call's own timeout, recorded with the checkpoint of a call that acts (see `closesAt`). */
  begin(key: string, step: number, signal: AbortSignal, kind: CallKind, timeoutMs?: number): Promise<JournalLookup>;
  finish(key: string, step: number, result: unknown): Promise<void>;
}
