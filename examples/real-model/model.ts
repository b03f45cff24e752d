import { createOpenAI } from '@ai-sdk/openai';
import { fromAiSdk, scriptedModel, type AiSdkLanguageModel, type Model, type ScriptContext, type ScriptStep } from '../../index.js';

/** Which model the example runs on, and why. */
export interface Choice {
  readonly model: Model;
  readonly describe: string;
  readonly real: boolean;
}

/**
 * The model from the environment:
 * - OPENAI_API_KEY: OpenAI (REINS_MODEL, default gpt-4o-mini);
 * - OPENAI_BASE_URL: an OpenAI-compatible server (vLLM, Ollama, LM Studio …) through its chat completions API, REINS_MODEL required;
 * - ANTHROPIC_API_KEY: Anthropic (REINS_MODEL, default claude-sonnet-4-0), if @ai-sdk/anthropic is installed;
 * - none of them: the scripted model, with the same tools.
 */
export async function chooseModel(env: NodeJS.ProcessEnv = process.env): Promise<Choice> {
  const name = env['REINS_MODEL'];
  if (env['OPENAI_BASE_URL']) {
    if (!name) throw new Error('OPENAI_BASE_URL is set: set REINS_MODEL to the model the server serves (e.g. llama3.1)');
    const provider = createOpenAI({ baseURL: env['OPENAI_BASE_URL'], apiKey: env['OPENAI_API_KEY'] ?? 'not-needed' });
    // Compatible servers speak chat completions, not the Responses API that openai() defaults to.
    return { model: fromAiSdk(provider.chat(name), { maxOutputTokens: 1_024 }), describe: `${name} at ${env['OPENAI_BASE_URL']}`, real: true };
  }
  if (env['OPENAI_API_KEY']) {
    const provider = createOpenAI({ apiKey: env['OPENAI_API_KEY'] });
    const id = name ?? 'gpt-4o-mini';
    return { model: fromAiSdk(provider(id), { maxOutputTokens: 1_024 }), describe: `OpenAI ${id}`, real: true };
  }
  if (env['ANTHROPIC_API_KEY']) {
    const id = name ?? 'claude-sonnet-4-0';
    // Imported by name so that the example type-checks without the package; install it to use it.
    const packageName = '@ai-sdk/anthropic';
    const { anthropic } = (await import(packageName).catch(() => {
      throw new Error('ANTHROPIC_API_KEY is set: npm install @ai-sdk/anthropic to run on Anthropic');
    })) as { anthropic: (modelId: string) => AiSdkLanguageModel };
    return { model: fromAiSdk(anthropic(id), { maxOutputTokens: 1_024 }), describe: `Anthropic ${id}`, real: true };
  }
  return { model: scriptedModel(script, { id: 'scripted-desk' }), describe: 'the scripted model (set OPENAI_API_KEY to use a real one)', real: false };
}

/** What a good support agent does with the desk's tools: look the order up, track its shipment, answer. */
const script = ({ turn, messages, lastResults }: ScriptContext): ScriptStep => {
  const goal = messages.find((m) => m.role === 'user')?.content ?? '';
  const orderId = /\b(\d{4})\b/.exec(goal)?.[1];
  if (!orderId) return { giveUp: 'the request names no order number' };
  const last = lastResults[0] ? (JSON.parse(lastResults[0].content) as Record<string, unknown>) : null;
  if (turn === 1) return { call: 'lookup_order', args: { orderId } };
  if (last && 'error' in last) return { giveUp: String(last['error']) };
  if (turn === 2 && typeof last?.['trackingId'] === 'string') return { call: 'track_shipment', args: { trackingId: last['trackingId'] } };
  if (turn === 2) return { answer: `Order ${orderId} (${String(last?.['item'])}) is ${String(last?.['status'])}; it has not shipped yet.` };
  return { answer: `Order ${orderId} is with ${String(last?.['carrier'])}: last scan ${String(last?.['lastScan'])}, expected ${String(last?.['eta'])}.` };
};
