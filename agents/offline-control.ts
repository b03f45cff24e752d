import { fromPromise, type AnyActorLogic, type AnyStateMachine, type Snapshot } from 'xstate';
import type { HostedRun } from './agent-run.js';

/** An actor that starts and never settles: applying an event offline must not call anything. */
const never = fromPromise<never, unknown>(() => new Promise<never>(() => {}));

/**
 * Every actor a machine can invoke, inert. Read from the machine itself (the
 * actors its `setup` declares), so that an actor added to a chart is inert
 * here without anyone keeping a second list.
 */
export function inertActorsOf(machine: AnyStateMachine): Record<string, AnyActorLogic> {
  return Object.fromEntries(Object.keys(machine.implementations.actors).map((name) => [name, never]));
}

/** The machine with nothing to call: for probes and offline commands. */
export function inert<M extends AnyStateMachine>(machine: M): M {
  return machine.provide({ actors: inertActorsOf(machine) } as never) as M;
}

/**
 * Applies one operator event to a stored snapshot of a run nobody hosts (its
 * worker died): the machine decides the next state, but nothing is invoked.
 * `restore` rehydrates the snapshot with inert actors. Returns the new
 * persisted snapshot.
 */
export function applyOffline(
  restore: (origin: { snapshot: Snapshot<unknown>; runId: string; agentId: string }) => HostedRun,
  snapshot: Snapshot<unknown>,
  runId: string,
  agentId: string,
  event: { readonly type: string },
): Snapshot<unknown> {
  const run = restore({ snapshot, runId, agentId });
  run.start();
  run.send(event as never);
  const next = run.persisted();
  run.actor.stop();
  return next;
}
