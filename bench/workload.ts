import { z } from 'zod';
import { scriptedModel, type ScriptStep } from '../agents/scripted-model.js';
import { tool, type ToolDefinition } from '../agents/tool.js';
import type { Model, ModelRequest, ToolSchema } from '../agents/model.js';

/**
 * The one agent every contender runs: a scripted model that calls `echo` on
 * turns 1..N and answers on turn N+1, and an echo tool. No contender gets a
 * model or tool of its own: the same two functions, called the same way, so
 * that what differs between rows is the framework around them.
 */
export function benchScript(turns: number): (ctx: { turn: number }) => ScriptStep {
  return ({ turn }) => (turn <= turns ? { call: 'echo', args: { i: turn } } : { answer: 'done' });
}

/** The echo tool: returns its input. */
export const echo: ToolDefinition = tool({
  name: 'echo',
  description: 'Returns its input',
  input: z.object({ i: z.number() }),
  sideEffect: 'none',
  run: (input) => input,
});

/** The tool as a model sees it (the non-reins contenders pass it to the model as reins does). */
export const echoSchema: ToolSchema = {
  name: echo.name,
  description: echo.description,
  inputSchema: z.toJSONSchema(echo.input, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>,
};

export const GOAL = 'Echo the numbers 1..N, then answer done.';

/**
 * Timestamps of every model call of one run (call k starts turn k), and an
 * optional sampler run before chosen calls (the growth workload reads bytes
 * written there). Sampler time is kept apart so the run's total can exclude it.
 */
export class TurnClock {
  readonly ticks: Float64Array;
  count = 0;
  samplerMs = 0;
  /** A wall-clock cap (performance.now() ms): the first call past it calls `onDeadline` (the contender stops its run). */
  deadline: number | undefined;
  onDeadline: (() => void) | undefined;
  #fired = false;
  constructor(
    capacity: number,
    readonly sampleAt: ReadonlySet<number> = new Set(),
    readonly sampler: ((turn: number) => Promise<void> | void) | null = null,
  ) {
    this.ticks = new Float64Array(capacity + 2);
  }

  async tick(): Promise<void> {
    const turn = this.count + 1;
    if (this.sampler && this.sampleAt.has(turn)) {
      const t0 = performance.now();
      await this.sampler(turn);
      this.samplerMs += performance.now() - t0;
    }
    const now = performance.now();
    if (this.count < this.ticks.length) this.ticks[this.count] = now;
    this.count++;
    // Checked at every model call, not by a timer: a run that never yields to the timer queue is still stopped.
    if (this.deadline !== undefined && now > this.deadline && !this.#fired) {
      this.#fired = true;
      this.onDeadline?.();
    }
  }

  /** Whether the cap stopped the run. */
  get stopped(): boolean {
    return this.#fired;
  }

  /** Duration of turn k (model call k to model call k+1), ms; NaN when not recorded. */
  turnMs(k: number): number {
    return k >= 1 && k < this.count ? this.ticks[k]! - this.ticks[k - 1]! : Number.NaN;
  }
}

/** Where a model wrapper reports calls: one clock per run id (several runs may share a model). */
export interface ClockBoard {
  clockFor(runId: string): TurnClock | undefined;
}

/** A single-run board: every call ticks the one current clock. */
export class CurrentClock implements ClockBoard {
  current: TurnClock | undefined;
  clockFor(): TurnClock | undefined {
    return this.current;
  }
}

/**
 * The scripted model, wrapped so that each call ticks its run's clock first.
 * `turnsOf` says how many tool turns a run has (the bench changes N between
 * blocks without redefining agents); one scripted model per N is kept.
 */
export function clockedModel(turnsOf: (runId: string) => number, board: ClockBoard): Model {
  const byTurns = new Map<number, Model>();
  return {
    id: 'scripted',
    async generate(request: ModelRequest) {
      const clock = board.clockFor(request.runId);
      if (clock) await clock.tick();
      const n = turnsOf(request.runId);
      let model = byTurns.get(n);
      if (!model) byTurns.set(n, (model = scriptedModel(benchScript(n))));
      return model.generate(request);
    },
  };
}
