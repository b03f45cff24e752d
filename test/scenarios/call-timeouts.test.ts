import { afterEach, describe, expect, it, vi } from 'vitest';
import { withTimeout } from '../../agents/timeout.js';

class Late extends Error {}

describe('withTimeout', () => {
  afterEach(() => vi.restoreAllMocks());

  it('work that answers synchronously gets no timer and no abort listener, and its answer or throw is the result', async () => {
    const timers = vi.spyOn(globalThis, 'setTimeout');
    const parent = new AbortController();
    const listen = vi.spyOn(parent.signal, 'addEventListener');
    await expect(withTimeout(() => 42, 1_000, parent.signal, () => new Late())).resolves.toBe(42);
    await expect(
      withTimeout(
        () => {
          throw new RangeError('bad input');
        },
        1_000,
        parent.signal,
        () => new Late(),
      ),
    ).rejects.toBeInstanceOf(RangeError);
    expect(timers).not.toHaveBeenCalled();
    expect(listen).not.toHaveBeenCalled();
  });

  it('work that answers later is raced: the timeout rejects and aborts its signal; a parent abort reaches it', async () => {
    let seen: AbortSignal | null = null;
    const never = (signal: AbortSignal) => ((seen = signal), new Promise<never>(() => undefined));
    await expect(withTimeout(never, 5, new AbortController().signal, () => new Late())).rejects.toBeInstanceOf(Late);
    expect(seen!.aborted).toBe(true);
    expect(seen!.reason).toBeInstanceOf(Late);

    const parent = new AbortController();
    const pending = withTimeout(never, 60_000, parent.signal, () => new Late());
    parent.abort(new Error('stopped'));
    expect(seen!.aborted).toBe(true);
    expect((seen!.reason as Error).message).toBe('stopped');
    await expect(withTimeout(async () => 'late answer', 1_000, parent.signal, () => new Late())).resolves.toBe('late answer');
    void pending.catch(() => undefined);
  });
});
