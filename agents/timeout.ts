/**
 * Settles `work` or rejects with `onTimeout()` after `ms`, aborting `controller`
 * so that the callee can stop; the timer never keeps the process alive. Work
 * that answers synchronously (a tool doing plain computation) gets no timer
 * and no race: nothing can time out or abort once it has returned.
 */
export function withTimeout<T>(work: (signal: AbortSignal) => T | PromiseLike<T>, ms: number, parent: AbortSignal, onTimeout: () => Error): Promise<T> {
  const controller = new AbortController();
  if (parent.aborted) controller.abort(parent.reason);
  let value: T | PromiseLike<T>;
  try {
    value = work(controller.signal);
  } catch (error) {
    return Promise.reject(error as Error);
  }
  if (!isThenable(value)) return Promise.resolve(value);
  return race(value, controller, ms, parent, onTimeout);
}

function isThenable<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

async function race<T>(work: PromiseLike<T>, controller: AbortController, ms: number, parent: AbortSignal, onTimeout: () => Error): Promise<T> {
  const abort = () => controller.abort(parent.reason);
  if (!parent.aborted) parent.addEventListener('abort', abort, { once: true });
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = onTimeout();
      controller.abort(error);
      reject(error);
    }, ms);
    timer.unref?.();
  });
  try {
    return await Promise.race([work, timedOut]);
  } finally {
    clearTimeout(timer);
    parent.removeEventListener('abort', abort);
  }
}

/** Resolves once `now()` reaches `at` (re-checked when the timer fires, so a frozen process waits no less); rejects when `signal` aborts. */
export async function sleepUntil(at: number, now: () => number, signal: AbortSignal): Promise<void> {
  while (now() < at) {
    signal.throwIfAborted();
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(done, Math.max(1, at - now()));
      function done() {
        signal.removeEventListener('abort', aborted);
        resolve();
      }
      function aborted() {
        clearTimeout(timer);
        reject(signal.reason);
      }
      signal.addEventListener('abort', aborted, { once: true });
    });
  }
}
