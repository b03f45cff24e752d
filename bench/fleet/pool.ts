import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { FleetCommand, FleetReport, FleetTarget } from './protocol.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SCRIPT = fileURLToPath(new URL('./worker-process.ts', import.meta.url));

/** What the workers of a round did, as they counted it. */
export interface RoundCount {
  readonly slices: number;
  readonly held: number;
  /** CPU time the working processes spent in the round, ms, summed. */
  readonly cpuMs: number;
}

/** One worker process, seen from the bench. */
class WorkerProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
  #waiting: { type: FleetReport['type']; resolve: (m: FleetReport) => void; reject: (e: Error) => void } | null = null;
  #stderr = '';

  constructor(onProgress: (m: Extract<FleetReport, { type: 'progress' }>) => void) {
    this.child = spawn(process.execPath, ['--import', 'tsx', SCRIPT], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe', 'ipc'], env: { ...process.env, REINS_LOG_LEVEL: 'silent' } });
    this.child.stderr?.on('data', (chunk: Buffer) => (this.#stderr = (this.#stderr + chunk.toString()).slice(-4_000)));
    this.child.on('message', (m: FleetReport) => {
      if (m.type === 'progress') return onProgress(m);
      const w = this.#waiting;
      if (!w) return;
      this.#waiting = null;
      if (m.type === 'failed') w.reject(new Error(m.message));
      else if (m.type === w.type) w.resolve(m);
    });
    this.exited = new Promise((resolve) =>
      this.child.once('exit', (code, signal) => {
        this.#waiting?.reject(new Error(`fleet bench worker exited (${signal ?? code}):\n${this.#stderr}`));
        this.#waiting = null;
        resolve();
      }),
    );
  }

  /** Resolves with the next report of this type (or rejects when the process fails or exits). */
  next(type: FleetReport['type']): Promise<FleetReport> {
    return new Promise((resolve, reject) => (this.#waiting = { type, resolve, reject }));
  }

  async ask(command: FleetCommand, reply: FleetReport['type']): Promise<FleetReport> {
    const answer = this.next(reply);
    this.child.send(command);
    return answer;
  }
}

/**
 * The section's worker processes, started once: a round asks the first k of
 * them to work on a fresh prefix, so that a round with k workers has k
 * processes taking slices and pays no process start-up.
 */
export class FleetPool {
  readonly #workers: WorkerProcess[];
  readonly #ready: Promise<unknown>;
  /** Run id → the first model call's epoch ms (any process). */
  readonly firstTurn = new Map<string, number>();
  ended = 0;
  rested = 0;
  #watchers: Array<() => void> = [];

  constructor(size: number) {
    this.#workers = Array.from({ length: size }, () => new WorkerProcess((m) => this.#progress(m)));
    this.#ready = Promise.all(this.#workers.map((w) => w.next('up')));
  }

  #progress(m: Extract<FleetReport, { type: 'progress' }>): void {
    for (const [runId, at] of m.first) if (!this.firstTurn.has(runId)) this.firstTurn.set(runId, at);
    this.ended += m.ended;
    this.rested += m.rested;
    const watchers = this.#watchers;
    this.#watchers = [];
    for (const w of watchers) w();
  }

  /** Resolves once `done()` holds, checked at every report from a worker. */
  async until(done: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      if (Date.now() > deadline) throw new Error(`fleet bench: timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 1_000);
        this.#watchers.push(() => (clearTimeout(timer), resolve()));
      });
    }
  }

  async ready(): Promise<void> {
    await this.#ready;
  }

  /** The first `k` processes become fleet workers on `prefix`. */
  async start(k: number, target: FleetTarget, prefix: string, options: { concurrency: number; sliceTurns: number; turns: number }): Promise<void> {
    this.firstTurn.clear();
    this.ended = 0;
    this.rested = 0;
    await Promise.all(this.#workers.slice(0, k).map((w) => w.ask({ type: 'start', target, prefix, ...options }, 'started')));
  }

  /** Every working process finishes its slices in hand and closes; their counts, summed. */
  async stop(k: number): Promise<RoundCount> {
    const replies = await Promise.all(this.#workers.slice(0, k).map((w) => w.ask({ type: 'stop' }, 'stopped')));
    let slices = 0;
    let held = 0;
    let cpuMs = 0;
    for (const r of replies) if (r.type === 'stopped') (slices += r.slices), (held += r.held), (cpuMs += r.cpuMs);
    return { slices, held, cpuMs };
  }

  /** Ends every process (they own nothing the bench must keep). */
  async close(): Promise<void> {
    for (const w of this.#workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGTERM');
    await Promise.all(this.#workers.map((w) => w.exited));
  }
}
