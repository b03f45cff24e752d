/** The fixture agents at version 3, migrating runs of version 2: what `reins migrate --agents` loads in the CLI test. */
import { fixtureKit } from '../fixtures/agents.js';

/** Version 3's migration from 2 leaves its mark in the goal. */
export const agents = fixtureKit('resume', {
  version: '3',
  migrate: () => ({ from: '2', up: (snapshot) => ({ ...snapshot, context: { ...snapshot.context, goal: `${snapshot.context.goal} (v3)` } }) }),
}).agents;
