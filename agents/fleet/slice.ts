import type { TerminalOutcome } from '../../machines/outcome.js';
import { RunNotFoundError } from '../errors.js';
import { RunEndedError, type Supervisor } from '../supervisor.js';
import { atCutPoint, restingPoint, type RestingPoint } from './rest.js';

/** How long one slice may host a run before it goes back to the queue (fairness between runs). */
export interface SliceLimits {
  /** Model turns per slice; the run is cut before its next model call. Default 50. */
  readonly maxTurns?: number;
  /** Wall-clock per slice, checked at the same cut points. Default 60 s. */
  readonly maxMs?: number;
  /** Waits shorter than this are waited out hosted instead of resting. Default 1 s. */
  readonly minRestMs?: number;
}

/** How a slice ended, and what the worker does next. */
export type SliceEnd =
  /** The run reached its final state; its outcome is durable and its lease released. */
  | { readonly kind: 'ended'; readonly outcome: TerminalOutcome | null }
  /** The run waits (approval, timer, pause); it is released and holds nothing. */
  | ({ readonly kind: 'resting' } & RestingPoint)
  /** The slice limit was reached at a cut point; the run is released and wants its next slice. */
  | { readonly kind: 'limit'; readonly turns: number }
  /** Another worker (or another slice in this process) holds the run's lease. */
  | { readonly kind: 'held' }
  /** The run lost its lease to another worker during the slice. */
  | { readonly kind: 'lost' }
  /** The store has no such run. */
  | { readonly kind: 'missing' };

const DEFAULTS = { maxTurns: 50, maxMs: 60_000, minRestMs: 1_000 };

/**
 * One slice of a run: take its lease and rehydrate it (through the
 * Supervisor's one gate), run it until it ends, rests or passes the slice
 * limit at a cut point, then make its writes durable and release the lease.
 */
export async function runSlice(supervisor: Supervisor, runId: string, limits: SliceLimits = {}): Promise<SliceEnd> {
  const { maxTurns, maxMs, minRestMs } = { ...DEFAULTS, ...limits };
  let hosted;
  try {
    hosted = await supervisor.hostRun(runId);
  } catch (error) {
    if (error instanceof RunEndedError) return { kind: 'ended', outcome: null };
    if (error instanceof RunNotFoundError) return { kind: 'missing' };
    throw error;
  }
  if (!hosted) return { kind: 'held' };
  const { run, gone, children } = hosted;
  const resting = (now: number) => restingPoint(run, now, minRestMs, children.waitingOn());
  const began = Date.now();
  const firstTurn = run.status().turns;
  return new Promise<SliceEnd>((resolve, reject) => {
    let settled = false;
    let releasing = false;
    const settle = (end: SliceEnd) => {
      if (settled) return;
      settled = true;
      unsubscribe();
      resolve(end);
    };
    const release = (end: SliceEnd, stillHolds: () => boolean) => {
      releasing = true;
      supervisor.releaseRun(runId, stillHolds).then(
        (released) => {
          if (released) return settle(end);
          // A command delivered while leaving moved the run on: it keeps its slot.
          releasing = false;
          check();
        },
        (error: unknown) => {
          settled = true;
          unsubscribe();
          reject(error);
        },
      );
    };
    const check = () => {
      if (settled || releasing) return;
      const now = Date.now();
      const rest = resting(now);
      if (rest) return release({ kind: 'resting', ...rest }, () => resting(Date.now()) !== null);
      const turns = run.status().turns - firstTurn;
      if ((turns >= maxTurns || now - began >= maxMs) && atCutPoint(run)) release({ kind: 'limit', turns }, () => atCutPoint(run));
    };
    const unwatch = [run.onStatus(check), children.onChange(check)];
    const unsubscribe = () => unwatch.forEach((stop) => stop());
    void run.outcome.then((outcome) => settle({ kind: 'ended', outcome }));
    void gone.then(() => {
      if (!releasing) settle({ kind: 'lost' });
    });
    // A run rehydrated into a wait (a timer not due yet, a pause) rests at once.
    check();
  });
}
