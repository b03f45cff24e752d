/**
 * The agent machine as pictures: a Mermaid state diagram (`reins diagram`)
 * and a JSON tree the console draws with the current state highlighted. Both
 * walk the machine's own state nodes, so they follow the chart as it changes.
 */
import type { AnyStateMachine, StateNode } from 'xstate';

type Node = StateNode<any, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** One state of the chart, for the console's statechart view. */
export interface ChartNode {
  /** The node's path from the root, dot-joined (`running.work.active.planning`). */
  readonly path: string;
  readonly key: string;
  readonly type: 'atomic' | 'compound' | 'parallel' | 'final' | 'history';
  readonly children: readonly ChartNode[];
}

const childrenOf = (node: Node): Node[] => Object.values(node.states) as Node[];

/** The chart's state tree. */
export function chartTree(machine: AnyStateMachine): ChartNode {
  const walk = (node: Node): ChartNode => ({ path: node.path.join('.'), key: node.key, type: node.type, children: childrenOf(node).map(walk) });
  return walk(machine.root as Node);
}

/** The dot-joined paths of every active state in an XState state value (`{ running: { work: … } }`). */
export function activePaths(value: unknown, prefix = ''): string[] {
  if (typeof value === 'string') return [prefix ? `${prefix}.${value}` : value];
  if (!value || typeof value !== 'object') return [];
  return Object.entries(value as Record<string, unknown>).flatMap(([key, inner]) => {
    const path = prefix ? `${prefix}.${key}` : key;
    return [path, ...activePaths(inner, path)];
  });
}

/** A guard as a word: its name, or "guarded" for an inline function. */
function guardName(guard: unknown): string | null {
  if (guard === undefined || guard === null) return null;
  if (typeof guard === 'string') return guard;
  if (typeof guard === 'object' && 'type' in guard && typeof (guard as { type: unknown }).type === 'string') return (guard as { type: string }).type;
  return 'guarded';
}

/** An event type as a diagram label: `done model`, `error tool`, `after untilRetry`, `APPROVE`. */
function eventLabel(eventType: string): string {
  const done = /^xstate\.(done|error)\.actor\.(.+)$/.exec(eventType);
  if (done) return `${done[1]} ${done[2]}`;
  const after = /^xstate\.after\.([^.]+)\./.exec(eventType);
  if (after) return `after ${after[1]}`;
  return eventType;
}

/**
 * The machine as a Mermaid `stateDiagram-v2`: composite states nest, parallel
 * regions are split by `--`, every transition is labelled with its event
 * and guard, and every final state leads to `[*]`.
 */
export function mermaidDiagram(machine: AnyStateMachine, title?: string): string {
  const root = machine.root as Node;
  const all: Node[] = [];
  const collect = (n: Node) => {
    all.push(n);
    childrenOf(n).forEach(collect);
  };
  collect(root);
  // Mermaid ids are global: a key used twice gets its path instead.
  const keyCount = new Map<string, number>();
  for (const n of all) keyCount.set(n.key, (keyCount.get(n.key) ?? 0) + 1);
  const idOf = (n: Node) => (keyCount.get(n.key) === 1 && /^[A-Za-z_][A-Za-z0-9_]*$/.test(n.key) ? n.key : n.path.join('_').replace(/[^A-Za-z0-9_]/g, '_'));

  // Each edge is written inside the innermost composite holding both ends, so that Mermaid nests it where it belongs.
  const edgesIn = new Map<Node, string[]>();
  const seen = new Set<string>();
  const lca = (a: Node, b: Node): Node => {
    const ancestors = new Set<Node>();
    for (let n: Node | undefined = a.parent as Node | undefined; n; n = n.parent as Node | undefined) ancestors.add(n);
    for (let n: Node | undefined = b.parent as Node | undefined; n; n = n.parent as Node | undefined) if (ancestors.has(n)) return n;
    return root;
  };
  const edge = (scope: Node, line: string) => {
    if (seen.has(line)) return;
    seen.add(line);
    edgesIn.set(scope, [...(edgesIn.get(scope) ?? []), line]);
  };
  for (const n of all) {
    if (n === root) continue;
    const transitions = [...n.transitions.values()].flat().concat(n.always ?? []);
    for (const t of transitions) {
      const event = t.eventType ? eventLabel(String(t.eventType)) : '';
      const guard = guardName(t.guard);
      const label = [event, guard ? `[${guard}]` : ''].filter(Boolean).join(' ');
      for (const target of t.target ?? []) edge(lca(n, target as Node), `${idOf(n)} --> ${idOf(target as Node)}${label ? ` : ${label}` : ''}`);
    }
    if (n.type === 'final') edge(n.parent as Node, `${idOf(n)} --> [*]`);
  }

  const lines = ['stateDiagram-v2'];
  if (title) lines.unshift('---', `title: ${title}`, '---');
  const body = (node: Node, indent: string) => {
    const kids = childrenOf(node);
    if (node.type === 'compound' && node.config.initial !== undefined) {
      const initial = node.states[String(node.config.initial)] as Node | undefined;
      if (initial) lines.push(`${indent}[*] --> ${idOf(initial)}`);
    }
    kids.forEach((child, i) => {
      if (node.type === 'parallel' && i > 0) lines.push(`${indent}--`);
      const id = idOf(child);
      if (child.key !== id || child.type === 'history') lines.push(`${indent}state "${child.key}${child.type === 'history' ? ' (history)' : ''}" as ${id}`);
      else if (childrenOf(child).length === 0) lines.push(`${indent}${id}`);
      if (childrenOf(child).length > 0) {
        lines.push(`${indent}state ${id} {`);
        body(child, `${indent}  `);
        lines.push(`${indent}}`);
      }
    });
    lines.push(...(edgesIn.get(node) ?? []).map((e) => `${indent}${e}`));
  };
  body(root, '  ');
  return `${lines.join('\n')}\n`;
}
