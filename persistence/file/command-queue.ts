import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command, QueuedCommand } from '../records.js';
import { sweepTemps, writeAtomic } from './atomic.js';
import { ifExists, readText, removeFile } from './io.js';
import { commandId, commandRunId, type FileLayout } from './layout.js';

/** Turns a command file's text into a Command, or throws (the store quarantines the run). */
export type CommandDecoder = (path: string, text: string) => Promise<Command>;

let lastSeq = 0;
/** Microseconds since the epoch, strictly increasing within this process even if the clock steps back, so one sender's commands keep their order. */
function nextSeq(): number {
  lastSeq = Math.max(lastSeq + 1, Date.now() * 1_000);
  return lastSeq;
}

/**
 * Operator commands as one file per command in commands/, named for its run
 * and id. Any process may send; the host of the run reads them without
 * removing them, and the commit that stores their effect records their ids
 * in the run's log (see RunState.acked) before their files are removed, so
 * a crash between the two leaves files that reads skip. Watchers poll the
 * folder: fs.watch misses events on some platforms and on network file
 * systems.
 */
export class CommandQueue {
  readonly #layout: FileLayout;
  readonly #pollMs: number;
  readonly #watchers = new Set<() => Promise<void>>();

  constructor(layout: FileLayout, pollMs: number) {
    this.#layout = layout;
    this.#pollMs = pollMs;
  }

  /** Queues the command (the folder must exist). */
  async send(runId: string, command: Command): Promise<void> {
    await writeAtomic(this.#layout.command(runId, nextSeq()), JSON.stringify(command));
  }

  /**
   * The run's commands, oldest first, left in place; `acked` says which ids a commit already acknowledged
   * (read after the files, so an acknowledgement that lands meanwhile is seen). Their leftover files go.
   */
  async peek(runId: string, decodeCommand: CommandDecoder, acked: () => Promise<ReadonlySet<string>>): Promise<QueuedCommand[]> {
    await sweepTemps(this.#layout.commands);
    const read: QueuedCommand[] = [];
    for (const name of await this.#names()) {
      if (commandRunId(name) !== runId) continue;
      const path = join(this.#layout.commands, name);
      const text = readText(path);
      if (text !== null) read.push({ id: commandId(name)!, command: await decodeCommand(path, text) });
    }
    const done = await acked();
    this.remove(runId, read.filter((q) => done.has(q.id)).map((q) => q.id));
    return read.filter((q) => !done.has(q.id));
  }

  /** Removes the files of acknowledged commands (their ids are in the run's log already). */
  remove(runId: string, ids: readonly string[]): void {
    for (const id of ids) removeFile(join(this.#layout.commands, `${runId}~${id}.json`));
  }

  /** Drops the run's queued commands (the run is being deleted). */
  async drop(runId: string): Promise<void> {
    for (const name of await this.#names()) if (commandRunId(name) === runId) removeFile(join(this.#layout.commands, name));
  }

  /** Calls `listener` once for each newly queued command file's run, polling every pollMs; returns the unsubscribe. */
  watch(listener: (runId: string) => void): () => Promise<void> {
    let seen = new Set<string>();
    let stopped = false;
    let timer: NodeJS.Timeout | undefined;
    const poll = async (): Promise<void> => {
      try {
        const names = await this.#names();
        const fresh = new Set(names.filter((name) => !seen.has(name)).map(commandRunId));
        seen = new Set(names);
        for (const runId of fresh) if (runId !== null && !stopped) notify(listener, runId);
      } catch (err) {
        // A failed poll (a disk hiccup) must not end the watch; the next poll retries.
        process.emitWarning(err as Error);
      }
      if (!stopped) timer = setTimeout(() => void (inFlight = poll()), this.#pollMs).unref();
    };
    let inFlight = poll();
    const stop = async (): Promise<void> => {
      stopped = true;
      clearTimeout(timer);
      this.#watchers.delete(stop);
      await inFlight;
    };
    this.#watchers.add(stop);
    return stop;
  }

  /** Stops every watcher. */
  async close(): Promise<void> {
    await Promise.all([...this.#watchers].map((stop) => stop()));
  }

  /** Command file names, sorted: for one run, that is send order. */
  async #names(): Promise<string[]> {
    return ((await ifExists(readdir(this.#layout.commands))) ?? []).filter((name) => commandRunId(name) !== null).sort();
  }
}

/** A listener that throws is reported, not allowed to stop the watch or to reject a poll nobody awaits. */
function notify(listener: (runId: string) => void, runId: string): void {
  try {
    listener(runId);
  } catch (err) {
    process.emitWarning(err as Error);
  }
}
