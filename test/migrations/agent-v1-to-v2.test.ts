import { readFileSync } from 'node:fs';
import { createActor, type AnyEventObject } from 'xstate';
import { describe, expect, it } from 'vitest';
import { AGENT_V1_TO_V2 } from '../../machines/migrations/agent-v1-to-v2.js';
import type { PersistedSnapshot as PersistedAgentSnapshot } from '../../machines/migrations/chart-migration.js';
import { buildInput, buildMachine, type ModelConfig } from '../model/harness.js';

/**
 * Snapshots persisted by the v1 agent chart (886ebc7), captured with the model
 * harness's machine in four resting states (a pure tool in flight, a model call
 * in flight, awaiting approval, paused), each with the events that took it
 * there, the events that then ended it, and the outcome v1 ended it with.
 */
interface Fixture {
  readonly config: ModelConfig;
  readonly scenarios: ReadonlyArray<{
    readonly name: string;
    readonly before: AnyEventObject[];
    readonly after: AnyEventObject[];
    readonly snapshot: PersistedAgentSnapshot;
    readonly outcome: unknown;
    readonly finalState: unknown;
  }>;
}
const fixture = JSON.parse(readFileSync(new URL('./agent-chart-886ebc7.json', import.meta.url), 'utf8')) as Fixture;

describe('agent chart v1 → v2', () => {
  it('covers the four resting states captured from v1', () => {
    expect(fixture.scenarios.map((s) => s.name)).toEqual(['acting', 'planning', 'awaitingApproval', 'paused']);
  });

  for (const s of fixture.scenarios) {
    it(`a v1 snapshot in ${s.name} restores on v2 where it was and ends exactly as v1 ended it`, () => {
      const migrated = AGENT_V1_TO_V2.up(s.snapshot);
      const actor = createActor(buildMachine(fixture.config), { snapshot: migrated } as never).start();
      expect(actor.getSnapshot().value).toEqual(s.snapshot.value);
      for (const e of s.after) actor.send(e as never);
      const end = actor.getSnapshot();
      expect(end.status).toBe('done');
      expect(end.value).toEqual(s.finalState);
      expect(end.output).toEqual(s.outcome);
    });

    it(`v2 from the start takes the ${s.name} events to the same outcome`, () => {
      const actor = createActor(buildMachine(fixture.config), { input: buildInput(fixture.config) }).start();
      for (const e of [...s.before, ...s.after]) actor.send(e as never);
      expect(actor.getSnapshot().output).toEqual(s.outcome);
    });
  }
});
