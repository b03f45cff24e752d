import { Redis, type Cluster } from 'ioredis';
import { commandName, runScript, type ScriptName } from './scripts.js';

/** One script call waiting for the batch it leaves with. */
interface Queued {
  readonly name: ScriptName;
  readonly keys: readonly string[];
  readonly args: readonly (string | number)[];
  readonly resolve: (reply: unknown) => void;
  readonly reject: (error: unknown) => void;
}

type PipelineScript = (numKeys: number, ...keysAndArgs: (string | number)[]) => unknown;

/**
 * Script calls of many runs made in the same tick (the commits of every run
 * whose model call just answered, a round of lease renewals) leave as one
 * pipeline: one write to the socket and one read of the replies instead of
 * one each, which is what a process hosting many runs spends its time on.
 * Each call is still its own script with its own keys and reply, so one
 * run's refused fence or version fails that run's call only.
 *
 * On a standalone client only: a Cluster pipeline must stay on one node and
 * gives redirections during a reshard back as errors, so on a Cluster every
 * call goes on its own (ioredis routes and redirects it; a Cluster client
 * made with `enableAutoPipelining` batches them per node).
 */
export class ScriptBatch {
  #queue: Queued[] = [];
  readonly #redis: Redis | Cluster;
  readonly #batching: boolean;

  constructor(redis: Redis | Cluster) {
    this.#redis = redis;
    this.#batching = redis instanceof Redis;
  }

  run(name: ScriptName, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    if (!this.#batching) return runScript(this.#redis, name, keys, args);
    return new Promise((resolve, reject) => {
      // After the tick's I/O callbacks and the microtasks they start, like ioredis' own auto-pipelining.
      if (this.#queue.length === 0) setImmediate(() => this.#flush());
      this.#queue.push({ name, keys, args, resolve, reject });
    });
  }

  #flush(): void {
    const batch = this.#queue;
    this.#queue = [];
    if (batch.length === 1) {
      const only = batch[0]!;
      runScript(this.#redis, only.name, only.keys, only.args).then(only.resolve, only.reject);
      return;
    }
    const pipeline = this.#redis.pipeline();
    for (const q of batch) (pipeline as unknown as Record<string, PipelineScript>)[commandName(q.name)]!.call(pipeline, q.keys.length, ...q.keys, ...q.args);
    pipeline.exec().then(
      (replies) => {
        batch.forEach((q, i) => {
          const [error, reply] = replies?.[i] ?? [new Error('reins: a pipelined script got no reply'), null];
          if (error) q.reject(error);
          else q.resolve(reply);
        });
      },
      (error: unknown) => {
        for (const q of batch) q.reject(error);
      },
    );
  }
}
