import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from '../records.js';
import { sweepTemps, writeAtomic } from './atomic.js';
import { ifExists, readText, removeFile } from './io.js';
import { commandRunId, type FileLayout } from './layout.js';

/** Turns a command file's text into a Command, or throws (the store quarantines the run). */
export type CommandDecoder = (path: string, text: string) => Promise<Command>;

let lastSeq = 0;
/** Microseconds since the epoch, strictly increasing within this process even if the clock steps back, so one sender's commands keep their order. */
function nextSeq(): number {
  lastSeq = Math.max(lastSeq + 1, Date.now() * 1_000);
  return lastSeq;
}

/**
 * Operator commands as one file per command in commands/. Any process may
 * send; a file is taken by whoever removes it first, so each command is
 * delivered once. Watchers poll the folder: fs.watch misses events on some
 * platforms and on network file systems.
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

  /** Removes and returns the run's commands, oldest first. Nothing is removed unless all of them decode. */
  async take(runId: string, decodeCommand: CommandDecoder): Promise<Command[]> {
    await sweepTemps(this.#layout.commands);
    const paths = (await this.#names()).filter((name) => commandRunId(name) === runId).map((name) => join(this.#layout.commands, name));
    const read: { path: string; command: Command }[] = [];
    for (const path of paths) {
      const text = readText(path);
      if (text !== null) read.push({ path, command: await decodeCommand(path, text) });
    }
    const taken: Command[] = [];
    // Another taker may have removed a file since it was read; then it is that taker's.
    for (const { path, command } of read) if (removeFile(path)) taken.push(command);
    return taken;
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
