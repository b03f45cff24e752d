import { describe, expect, it } from 'vitest';
import type { AnyStateNode } from 'xstate';
import { defineAgent, scriptedModel, TERMINAL_REASONS } from '../../index.js';

const agent = defineAgent({ id: 'inspectable', goal: 'g', model: scriptedModel([{ answer: 1 }]) });

/** Every state node of the chart, depth first. */
function nodes(node: AnyStateNode): AnyStateNode[] {
  return [node, ...Object.values(node.states).flatMap(nodes)];
}

/** The name of an implementation reference, or null when it is an inline function. XState's own built-ins (the raise/cancel behind `after`) carry an `xstate.` type. */
function named(ref: unknown): string | null {
  if (typeof ref === 'string') return ref;
  const type = ref && (typeof ref === 'object' || typeof ref === 'function') ? (ref as { type?: unknown }).type : undefined;
  if (typeof type !== 'string') return null;
  return typeof ref === 'function' && !type.startsWith('xstate.') ? null : type;
}

describe('the chart is readable as is (Stately inspector, visualizer)', () => {
  const all = nodes(agent.machine.root);

  it('has one final state per terminal reason', () => {
    const finals = all.filter((n) => n.type === 'final').map((n) => n.key);
    expect(finals).toHaveLength(TERMINAL_REASONS.length);
  });

  it('names every guard, action and actor: no inline lambdas hidden in the chart', () => {
    const inline: string[] = [];
    for (const node of all) {
      const transitions = [...node.transitions.values()].flat().concat(node.always ?? []);
      for (const t of transitions) {
        if (t.guard !== undefined && named(t.guard) === null) inline.push(`${node.id} guard`);
        for (const a of t.actions ?? []) if (named(a) === null) inline.push(`${node.id} action on ${t.eventType}`);
      }
      for (const a of [...node.entry, ...node.exit]) if (named(a) === null) inline.push(`${node.id} entry/exit`);
      for (const inv of node.invoke) if (typeof inv.src !== 'string') inline.push(`${node.id} invoke`);
    }
    expect(inline).toEqual([]);
  });

  it('gives every invoke an explicit id, so that done/error events and restores address it by name', () => {
    const invokes = all.flatMap((n) => n.invoke.map((i) => `${i.id}<-${String(i.src)}`));
    expect(invokes.sort()).toEqual(['compact<-compactTranscript', 'judge<-judgeProgress', 'model<-callModel', 'reconcile<-reconcileCall', 'tool<-callTool', 'verify<-verifyAnswer']);
  });

  it('serialises to JSON (the definition the inspector and visualizer take)', () => {
    const json = JSON.stringify(agent.machine.definition);
    expect(json.length).toBeGreaterThan(1_000);
    expect(json).toContain('"awaitingApproval"');
  });
});
