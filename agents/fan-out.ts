import type { FanOutPolicy } from '../machines/pipeline-context.js';

export { FanOutPolicy, policyName } from '../machines/pipeline-context.js';

/** One unit of a fan-out: it must stop (resolve or reject) soon after its signal aborts. */
export type FanOutTask<R> = (signal: AbortSignal, index: number) => Promise<R>;

/**
 * The reason a task's signal aborts with when the fan-out, not its parent,
 * cancels it: a sibling failed, or a quorum was reached or became
 * unreachable. `why` is readable evidence ("sibling 2 ended TOOL_FAILURE").
 */
export class Cancellation extends Error {
  constructor(readonly why: string) {
    super(why);
    this.name = 'Cancellation';
  }
}

/** How one task ended. `cancelled`: its signal had aborted before it settled. */
export type TaskSettlement<R> =
  | { readonly index: number; readonly status: 'fulfilled'; readonly value: R; readonly failed: boolean; readonly cancelled: boolean }
  | { readonly index: number; readonly status: 'rejected'; readonly error: unknown; readonly cancelled: boolean }
  | { readonly index: number; readonly status: 'skipped' };

/** What a fan-out came to; it is reported only once every started task has settled. */
export interface FanOutReport<R> {
  /** `cancelled`: the parent's signal aborted before the policy decided. */
  readonly status: 'succeeded' | 'failed' | 'cancelled';
  /** In task order; tasks never started are `skipped`. */
  readonly settlements: readonly TaskSettlement<R>[];
  /** The task whose failure decided a failed fan-out (all: the first failure; quorum: the one that made k unreachable). */
  readonly decidedBy: number | null;
  readonly succeeded: number;
  /** Tasks that failed on their own (a task cancelled by the fan-out or its parent is counted in `cancelled`). */
  readonly failed: number;
  readonly cancelled: number;
  /** Why it failed or was cancelled, readable; null when it succeeded. */
  readonly why: string | null;
}

export interface FanOutOptions<R> {
  readonly policy: FanOutPolicy;
  /** At most this many tasks run at once; default: all of them. */
  readonly concurrency?: number;
  /** The parent's signal: aborting it cancels every running task and starts no more. */
  readonly signal?: AbortSignal;
  /** Whether a resolved value is a failure (e.g. a child run that did not complete); a rejection always is. */
  readonly failed?: (value: R, index: number) => boolean;
  /** How evidence names a task, e.g. by its child run id; default `task <index>`. */
  readonly label?: (index: number) => string;
  /** How evidence describes a failed value, e.g. "ended TOOL_FAILURE"; default "failed". */
  readonly explain?: (value: R) => string;
}

/**
 * Runs tasks with a concurrency limit under a declared policy, with
 * structured concurrency: every task gets its own AbortSignal, linked to the
 * parent's; a decision that makes the remaining tasks pointless (a failure
 * under `all`, a reached or unreachable quorum) aborts them with a
 * `Cancellation` naming the task that decided; and the report resolves only
 * once every task that was started has settled, so no task outlives the
 * fan-out. Failures are attributed to the task that raised them.
 */
export function fanOut<R>(tasks: readonly FanOutTask<R>[], options: FanOutOptions<R>): Promise<FanOutReport<R>> {
  const n = tasks.length;
  const policy = options.policy;
  const limit = Math.max(1, Math.min(options.concurrency ?? n, n || 1));
  const label = options.label ?? ((i: number) => `task ${i}`);
  const explain = options.explain ?? (() => 'failed');
  const isFailure = options.failed ?? (() => false);
  const quorum = typeof policy === 'object' ? policy.quorum : null;

  const settlements: Array<TaskSettlement<R> | undefined> = new Array(n).fill(undefined);
  const controllers: Array<AbortController | undefined> = new Array(n).fill(undefined);
  let status: FanOutReport<R>['status'] | null = null;
  let decidedBy: number | null = null;
  let why: string | null = null;
  let succeeded = 0;
  let failed = 0;
  let cancelled = 0;
  let next = 0;
  let running = 0;

  return new Promise<FanOutReport<R>>((resolve) => {
    const finish = () => {
      if (running > 0 || (next < n && status === null)) return;
      for (let i = 0; i < n; i++) settlements[i] ??= { index: i, status: 'skipped' };
      options.signal?.removeEventListener('abort', onParentAbort);
      resolve({ status: status ?? 'succeeded', settlements: settlements as TaskSettlement<R>[], decidedBy, succeeded, failed, cancelled, why });
    };
    /** Decides the fan-out once; the tasks still running are cancelled with `reason`. */
    const decide = (outcome: 'succeeded' | 'failed' | 'cancelled', by: number | null, text: string | null, reason: unknown) => {
      if (status !== null) return;
      status = outcome;
      decidedBy = by;
      why = text;
      for (const c of controllers) if (c && !c.signal.aborted) c.abort(reason);
    };
    const onParentAbort = () => decide('cancelled', null, 'the parent was cancelled', options.signal?.reason);

    const settle = (index: number, settlement: TaskSettlement<R>) => {
      settlements[index] = settlement;
      running--;
      const bad = settlement.status === 'rejected' || (settlement.status === 'fulfilled' && settlement.failed);
      if (settlement.status === 'rejected' && settlement.cancelled) cancelled++;
      else if (bad) failed++;
      else succeeded++;
      if (status === null) {
        const what = settlement.status === 'rejected' ? `threw ${errorText(settlement.error)}` : explain((settlement as { value: R }).value);
        if (bad && policy === 'all') {
          const text = `${label(index)} ${what}`;
          decide('failed', index, text, new Cancellation(`sibling ${text}`));
        } else if (quorum !== null && bad && failed > n - quorum) {
          const text = `quorum(${quorum}) unreachable: ${failed} of ${n} failed, the last ${label(index)} ${what}`;
          decide('failed', index, text, new Cancellation(text));
        } else if (quorum !== null && !bad && succeeded >= quorum) {
          decide('succeeded', null, null, new Cancellation(`quorum(${quorum}) reached; no longer needed`));
        }
      }
      launch();
      finish();
    };

    const launch = () => {
      while (status === null && running < limit && next < n) {
        const index = next++;
        const controller = new AbortController();
        controllers[index] = controller;
        running++;
        let promise: Promise<R>;
        try {
          promise = tasks[index]!(controller.signal, index);
        } catch (error) {
          promise = Promise.reject(error);
        }
        promise.then(
          (value) => settle(index, { index, status: 'fulfilled', value, failed: isFailure(value, index), cancelled: controller.signal.aborted }),
          (error: unknown) => settle(index, { index, status: 'rejected', error, cancelled: controller.signal.aborted }),
        );
      }
    };

    if (quorum !== null && quorum > n) {
      decide('failed', null, `quorum(${quorum}) of ${n} ${n === 1 ? 'task' : 'tasks'} is unreachable`, null);
    } else if (options.signal?.aborted) {
      onParentAbort();
    } else {
      options.signal?.addEventListener('abort', onParentAbort, { once: true });
      launch();
    }
    finish();
  });
}

function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
