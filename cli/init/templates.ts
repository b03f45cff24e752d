// The files `reins init` writes into a user's project: an agent, the config `reins` reads, a test, a compose file.

/** One scaffolded file: where it goes (relative to the project) and what it holds. */
export interface Template {
  readonly path: string;
  readonly content: string;
}

const AGENT = `import { z } from 'zod';
import { defineAgent, scriptedModel, tool } from 'reins';

/** Looks an order up. Replace the body with a call to your own backend. */
export const lookupOrder = tool({
  name: 'lookup_order',
  description: 'Status of an order',
  input: z.object({ orderId: z.string() }),
  sideEffect: 'none', // none | idempotent | non-idempotent: what repeating the call would cost
  timeoutMs: 5_000,
  run: async ({ orderId }) => ({ orderId, status: 'shipped' }),
});

/**
 * A support agent. Its scripted model lets it run without a provider key;
 * for a real one: model: fromAiSdk(openai('gpt-4o-mini')) (npm install ai @ai-sdk/openai).
 */
export const support = defineAgent({
  id: 'support',
  goal: (ticket: { text: string }) => \`Resolve this ticket: \${ticket.text}\`,
  instructions: 'You are a careful support agent.',
  model: scriptedModel([{ call: 'lookup_order', args: { orderId: '42' } }, { answer: 'Order 42 has shipped.' }]),
  tools: [lookupOrder],
  limits: { maxTurns: 10, maxWallClockMs: 60_000 },
});
`;

const CONFIG = `// The agents that \`npx reins\` commands use: diagram, worker, console, and commands on runs nobody hosts.
import { support } from './agents/support.js';

export const agents = [support];
`;

const TEST = `import assert from 'node:assert/strict';
import { test } from 'node:test';
import { support } from '../agents/support.js';

test('support answers where an order is', async () => {
  const outcome = await support.start({ input: { text: 'where is order 42?' } }).outcome;
  assert.equal(outcome.reason, 'COMPLETED');
  if (outcome.reason === 'COMPLETED') assert.equal(outcome.result, 'Order 42 has shipped.');
});
`;

const COMPOSE = `# Redis (append-only file on) as the store, two workers hosting your agents' runs, and the console.
# Start: docker compose up   ·   console: http://localhost:7420 (the token is in its log)
services:
  redis:
    image: redis:7
    command: ["redis-server", "--appendonly", "yes", "--appendfsync", "everysec"]
    volumes: ["redis-data:/data"]
    healthcheck:
      test: ["CMD", "redis-cli", "ping"]
      interval: 2s
  worker:
    image: node:20
    working_dir: /app
    volumes: [".:/app"]
    command: ["npx", "reins", "worker"]
    environment:
      REDIS_URL: redis://redis:6379
    depends_on:
      redis: { condition: service_healthy }
    deploy:
      replicas: 2
  console:
    image: node:20
    working_dir: /app
    volumes: [".:/app"]
    command: ["npx", "reins", "console", "--host", "0.0.0.0", "--port", "7420"]
    environment:
      REDIS_URL: redis://redis:6379
    ports: ["127.0.0.1:7420:7420"]
    depends_on:
      redis: { condition: service_healthy }
volumes:
  redis-data: {}
`;

/** What `reins init` writes. */
export const TEMPLATES: readonly Template[] = [
  { path: 'agents/support.ts', content: AGENT },
  { path: 'reins.config.ts', content: CONFIG },
  { path: 'test/support.test.ts', content: TEST },
  { path: 'docker-compose.yml', content: COMPOSE },
];
