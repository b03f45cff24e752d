/**
 * The run's conversation, kept beside the snapshot so that the snapshot does
 * not grow with the run. Appends are keyed by step: a retried or re-invoked
 * model call appends its step's messages exactly once.
 */
export interface TranscriptStore<M> {
  appendStep(runId: string, step: number, messages: readonly M[]): Promise<void>;
  read(runId: string): Promise<readonly M[]>;
}

/** The in-process transcript store. */
export class MemoryTranscriptStore<M> implements TranscriptStore<M> {
  readonly #runs = new Map<string, { lastStep: number; messages: M[] }>();

  async appendStep(runId: string, step: number, messages: readonly M[]): Promise<void> {
    const run = this.#runs.get(runId) ?? { lastStep: -1, messages: [] };
    if (step <= run.lastStep) return;
    run.lastStep = step;
    run.messages.push(...messages);
    this.#runs.set(runId, run);
  }

  async read(runId: string): Promise<readonly M[]> {
    return this.#runs.get(runId)?.messages ?? [];
  }
}
