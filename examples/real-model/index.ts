/**
 * A support agent that runs on a real model when a provider key is set and
 * on the scripted model otherwise, with the same tools:
 *
 *   npx tsx examples/real-model/index.ts "Where is my order 1042?"
 *   OPENAI_API_KEY=sk-… npx tsx examples/real-model/index.ts "Where is my order 1042?"
 *   OPENAI_BASE_URL=http://localhost:11434/v1 REINS_MODEL=llama3.1 npx tsx examples/real-model/index.ts
 */
import { defineAgent, modelJudge, type Model, type TerminalOutcome } from '../../index.js';
import { DESK_TOOLS } from './desk.js';
import { chooseModel } from './model.js';

/** The agent: the model, the desk's tools, limits, and (on a real model) a model-backed progress judge. */
export function deskAgent(model: Model, real: boolean) {
  return defineAgent({
    id: 'order-desk',
    goal: (request: string) => request,
    instructions:
      'You are the order desk of a coffee-equipment shop. Use the tools to find facts; never guess an order status. ' +
      'Answer the customer in one or two sentences. If the request cannot be served with these tools, call reins_give_up; ' +
      'if it needs a human (refunds, complaints), call reins_escalate.',
    model,
    tools: DESK_TOOLS,
    limits: { maxTurns: 12, maxCostUsd: 0.05, maxWallClockMs: 120_000 },
    progress: real ? { everyTurns: 4, judge: modelJudge({ model, maxTokensPerRun: 8_000 }) } : { everyTurns: 4 },
    goalReminderEveryTurns: 5,
    modelTimeoutMs: 60_000,
  });
}

/** Runs one request and returns its outcome, printing each state the run enters. */
export async function main(request: string, env: NodeJS.ProcessEnv = process.env, print: (line: string) => void = console.log): Promise<TerminalOutcome> {
  const choice = await chooseModel(env);
  print(`model: ${choice.describe}`);
  const run = deskAgent(choice.model, choice.real).start({ input: request });
  let last = '';
  run.onStatus((s) => {
    const line = `${s.state}${s.activeTool ? ` (${s.activeTool})` : ''}`;
    if (line !== last) print(`  ${String(s.turns).padStart(2)} turns  ${line}`);
    last = line;
  });
  const outcome = await run.outcome;
  print(JSON.stringify(outcome, null, 2));
  return outcome;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  void main(process.argv[2] ?? 'Where is my order 1042?');
}
