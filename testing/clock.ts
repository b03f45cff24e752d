import { ReinsError } from '../agents/errors.js';

/** The real timer functions, captured when reins/testing loads, so the driver keeps real time while runs keep virtual time. */
const real = {
  setTimeout: globalThis.setTimeout,
  clearTimeout: globalThis.clearTimeout,
  setInterval: globalThis.setInterval,
  clearInterval: globalThis.clearInterval,
  setImmediate: globalThis.setImmediate,
};

/** A second clock was installed while one was in use: two scenarios at once in one process would share timers. */
export class ClockInUseError extends ReinsError {
  constructor() {
    super('clock-in-use', 'a virtual clock is already installed: run scenarios one at a time in a process (no test.concurrent)');
  }
}

interface Timer {
  readonly id: number;
  due: number;
  readonly every: number | null;
  readonly fn: (...args: unknown[]) => void;
  readonly args: unknown[];
  cleared: boolean;
}

/** What setTimeout returns under the virtual clock: shaped like Node's Timeout so that `unref()` and `clearTimeout` work. */
class VirtualTimeout {
  constructor(
    readonly timer: Timer,
    readonly clock: VirtualClock,
  ) {}
  ref(): this {
    return this;
  }
  unref(): this {
    return this;
  }
  hasRef(): boolean {
    return false;
  }
  refresh(): this {
    this.clock.reschedule(this.timer);
    return this;
  }
  close(): this {
    this.timer.cleared = true;
    return this;
  }
  [Symbol.toPrimitive](): number {
    return this.timer.id;
  }
}

let installed: VirtualClock | null = null;

/**
 * Virtual time for a run: `now()` for the agent's clock and timers
 * (`setTimeout`, `setInterval`) that fire only when the clock is moved. A
 * scenario moves it to the next due timer whenever nothing else is happening,
 * so backoffs, approval deadlines and wall-clock timeouts pass at once while
 * their order stays exactly as in real time.
 */
export class VirtualClock {
  #now: number;
  #seq = 0;
  #timers: Timer[] = [];
  #restore: (() => void) | null = null;
  /** Bumped whenever a timer is set, cleared or fired: the driver waits for it to stay still before moving time. */
  activity = 0;

  /** Starts at `start` (default: a fixed instant, so that runs are reproducible). */
  constructor(start = Date.UTC(2030, 0, 1)) {
    this.#now = start;
  }

  /** The virtual time in epoch milliseconds. */
  readonly now = (): number => this.#now;

  /** Milliseconds of virtual time until the earliest timer, or null when none is set. */
  nextDue(): number | null {
    const next = this.#earliest();
    return next ? Math.max(0, next.due - this.#now) : null;
  }

  /** Timers set and not yet fired or cleared. */
  get pending(): number {
    return this.#timers.filter((t) => !t.cleared).length;
  }

  /** Moves time to the earliest timer and fires it; false when no timer is set. */
  next(): boolean {
    const timer = this.#earliest();
    if (!timer) return false;
    this.#now = Math.max(this.#now, timer.due);
    this.#fire(timer);
    return true;
  }

  /** Moves time forward by `ms`, firing every timer due on the way, in order. */
  advance(ms: number): void {
    const until = this.#now + ms;
    for (let t = this.#earliest(); t && t.due <= until; t = this.#earliest()) {
      this.#now = Math.max(this.#now, t.due);
      this.#fire(t);
    }
    this.#now = until;
  }

  /**
   * Replaces the global timer functions with this clock's until the returned
   * function is called. Timers set before keep real time (clearing one goes to
   * the real clearTimeout). One clock at a time per process.
   */
  install(): () => void {
    if (installed) throw new ClockInUseError();
    installed = this;
    const set = (every: boolean) => (fn: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) => this.#set(fn, ms ?? 0, args, every);
    const clear = (which: 'clearTimeout' | 'clearInterval') => (handle: unknown) => {
      if (handle instanceof VirtualTimeout) {
        if (!handle.timer.cleared) this.activity++;
        handle.timer.cleared = true;
      } else real[which](handle as NodeJS.Timeout);
    };
    const g = globalThis as unknown as Record<string, unknown>;
    g.setTimeout = set(false);
    g.setInterval = set(true);
    g.clearTimeout = clear('clearTimeout');
    g.clearInterval = clear('clearInterval');
    this.#restore = () => {
      Object.assign(g, { setTimeout: real.setTimeout, setInterval: real.setInterval, clearTimeout: real.clearTimeout, clearInterval: real.clearInterval });
      installed = null;
      this.#restore = null;
    };
    return this.#restore;
  }

  /** Puts the real timer functions back (a no-op when this clock is not installed). */
  uninstall(): void {
    this.#restore?.();
  }

  /** Re-arms a timer from now (Node's `timeout.refresh()`). */
  reschedule(timer: Timer): void {
    timer.due = this.#now + (timer.every ?? 0);
    this.activity++;
  }

  #set(fn: (...args: unknown[]) => void, ms: number, args: unknown[], every: boolean): VirtualTimeout {
    const delay = Math.max(0, Number.isFinite(ms) ? ms : 0);
    const timer: Timer = { id: ++this.#seq, due: this.#now + delay, every: every ? Math.max(1, delay) : null, fn, args, cleared: false };
    this.#timers.push(timer);
    this.activity++;
    return new VirtualTimeout(timer, this);
  }

  #earliest(): Timer | null {
    this.#timers = this.#timers.filter((t) => !t.cleared);
    let best: Timer | null = null;
    // Ties fire in the order they were set, as Node's timers do.
    for (const t of this.#timers) if (!best || t.due < best.due || (t.due === best.due && t.id < best.id)) best = t;
    return best;
  }

  #fire(timer: Timer): void {
    this.activity++;
    if (timer.every === null) timer.cleared = true;
    else timer.due = this.#now + timer.every;
    timer.fn(...timer.args);
  }
}

/** One turn of the real event loop: lets promises and I/O callbacks that are ready run. */
export function realTurn(): Promise<void> {
  return new Promise((resolve) => real.setImmediate(resolve));
}

/** Waits `ms` of real time, whatever clock is installed. */
export function realSleep(ms: number): Promise<void> {
  return new Promise((resolve) => real.setTimeout(resolve, ms));
}
