import type { AnyStateMachine, AnyStateNode, InspectionEvent } from 'xstate';

/** States and transitions of the machines a target runs, and which of them exploration reached. */
export interface Coverage {
  readonly states: { readonly reached: number; readonly total: number };
  readonly transitions: { readonly reached: number; readonly total: number };
  /** State ids never entered, `<agent or pipeline id>:<state id>`. */
  readonly unreachedStates: readonly string[];
}

interface TransitionLike {
  readonly source: AnyStateNode;
  readonly eventType: string;
  readonly target?: readonly AnyStateNode[] | undefined;
}

function transitionKey(owner: string, t: TransitionLike, index: number): string {
  return `${owner}:${t.source.id}|${t.eventType}|${(t.target ?? []).map((n) => n.id).join(',')}|${index}`;
}

function nodesOf(node: AnyStateNode): AnyStateNode[] {
  return [node, ...Object.values(node.states).flatMap(nodesOf)];
}

/** Every transition a state node declares (events, delayed, eventless), with its index among those of its event. */
function transitionsOf(node: AnyStateNode): Array<[TransitionLike, number]> {
  const out: Array<[TransitionLike, number]> = [];
  for (const list of node.transitions.values()) list.forEach((t, i) => out.push([t, i]));
  (node.always ?? []).forEach((t, i) => out.push([t, i]));
  return out;
}

/** Collects what runs reach, from XState inspection events, against the machines' full charts. */
export class CoverageTracker {
  readonly #states = new Set<string>();
  readonly #transitions = new Set<string>();
  readonly #allStates = new Set<string>();
  readonly #allTransitions = new Set<string>();

  /** `machines`: each owner id (an agent's or pipeline's) with the machine its runs use. */
  constructor(machines: ReadonlyMap<string, AnyStateMachine>) {
    for (const [owner, machine] of machines) {
      for (const node of nodesOf(machine.root)) {
        this.#allStates.add(`${owner}:${node.id}`);
        for (const [t, i] of transitionsOf(node)) this.#allTransitions.add(transitionKey(owner, t, i));
      }
    }
  }

  /** An inspection observer: pass to the Supervisor's `inspect`. */
  readonly inspect = (event: InspectionEvent): void => {
    if (event.type !== '@xstate.microstep' && event.type !== '@xstate.snapshot') return;
    const snapshot = event.snapshot as unknown as { context?: { agentId?: string }; _nodes?: AnyStateNode[] };
    const owner = snapshot.context?.agentId;
    if (!owner) return;
    for (const node of snapshot._nodes ?? []) this.#states.add(`${owner}:${node.id}`);
    if (event.type === '@xstate.microstep') {
      for (const t of event._transitions as unknown as TransitionLike[]) {
        const list = t.eventType === '' ? t.source.always ?? [] : t.source.transitions.get(t.eventType) ?? [];
        this.#transitions.add(transitionKey(owner, t, Math.max(0, (list as unknown[]).indexOf(t))));
      }
    }
  };

  /** What was reached so far, over what exists. */
  report(): Coverage {
    const reachedStates = [...this.#allStates].filter((s) => this.#states.has(s));
    const reachedTransitions = [...this.#allTransitions].filter((t) => this.#transitions.has(t));
    return {
      states: { reached: reachedStates.length, total: this.#allStates.size },
      transitions: { reached: reachedTransitions.length, total: this.#allTransitions.size },
      unreachedStates: [...this.#allStates].filter((s) => !this.#states.has(s)),
    };
  }
}
