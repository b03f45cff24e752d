/**
 * `promise`, or a rejection with `reason()` as soon as the signal aborts
 * (the signal's own reason by default): a wait that a kill must cut short.
 */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal, reason: () => unknown = () => signal.reason): Promise<T> {
  if (signal.aborted) return Promise.reject(reason() as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(reason() as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error as Error);
      },
    );
  });
}
