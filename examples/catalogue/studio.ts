/**
 * The catalogue studio's agents: a planner, a generator, a quality checker,
 * a refiner and a publisher, each on a scripted model with its own tools.
 * The "renders" are deterministic, so the pipeline tells the same story every
 * time: one shot passes at once, one after a refine, one never passes, and
 * one cannot be rendered at all.
 */
import { z } from 'zod';
import { accept, defineAgent, FatalToolError, reject, scriptedModel, tool, type Message, type ScriptStep, type VerifyRun } from '../../index.js';

/** One shot of the catalogue: what to render, and how each version would score (the "studio's" ground truth). */
export const SHOTS = {
  hero: { prompt: 'three-quarter hero view on white', scores: [91] },
  side: { prompt: 'side profile, laces tied', scores: [72, 86] },
  sole: { prompt: 'outsole grip pattern, macro', scores: [48, 58, 66, 74] },
  lifestyle: { prompt: 'on a wet forest trail at dawn', scores: [], renderFails: 'GPU quota exceeded for scenes with people' },
} as const satisfies Record<string, { prompt: string; scores: readonly number[]; renderFails?: string }>;

export type ShotId = keyof typeof SHOTS;

/** The goal carries the child's input as JSON after a colon, so the scripted models can read their task back. */
function taskOf(messages: readonly Message[]): Record<string, unknown> {
  const goal = messages.find((m) => m.role === 'user')?.content ?? '';
  return JSON.parse(goal.slice(goal.indexOf(':') + 1)) as Record<string, unknown>;
}

/** Call one tool with the task's input, then answer with the tool's result (or stop if the tool failed). */
function callThenAnswer(toolName: string): (ctx: { turn: number; messages: readonly Message[]; lastResults: ReadonlyArray<{ content: string }> }) => ScriptStep {
  return ({ turn, messages, lastResults }) =>
    turn === 1 ? { call: toolName, args: taskOf(messages) } : { answer: JSON.parse(lastResults[0]?.content ?? 'null') as never };
}

const model = (tool: string) => scriptedModel(callThenAnswer(tool), { latencyMs: 40 });
const work = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const planShots = tool({
  name: 'plan_shots',
  description: 'Lists the shots a product page needs',
  input: z.object({ product: z.string(), shots: z.array(z.string()) }),
  sideEffect: 'none',
  run: async ({ product, shots }) => {
    await work(30);
    return { product, shots: shots.map((id) => ({ id, prompt: `${product}: ${SHOTS[id as ShotId]?.prompt ?? id}` })) };
  },
});

const render = tool({
  name: 'render',
  description: 'Renders a shot',
  input: z.object({ shot: z.string(), prompt: z.string() }),
  sideEffect: 'idempotent',
  run: async ({ shot }, ctx) => {
    await work(120);
    const failure = (SHOTS[shot as ShotId] as { renderFails?: string } | undefined)?.renderFails;
    if (failure) throw new FatalToolError(failure);
    if (ctx.signal.aborted) throw ctx.signal.reason;
    return { shot, image: `renders/${shot}-v1.png`, version: 1 };
  },
});

const scoreImage = tool({
  name: 'score_image',
  description: 'Scores a render against the brand guide, 0-100',
  input: z.object({ shot: z.string(), image: z.string(), version: z.number().int().positive() }),
  sideEffect: 'none',
  run: async ({ shot, version, image }) => {
    await work(60);
    const scores: readonly number[] = SHOTS[shot as ShotId]?.scores ?? [];
    const score = scores[Math.min(version, scores.length) - 1] ?? 0;
    return { shot, image, version, score, notes: score >= 80 ? 'on brand' : 'lighting flat, product edges soft' };
  },
});

const retouch = tool({
  name: 'retouch',
  description: 'Retouches a render following the checker’s notes',
  input: z.object({ shot: z.string(), image: z.string(), version: z.number().int().positive(), notes: z.string() }),
  sideEffect: 'idempotent',
  run: async ({ shot, version }) => {
    await work(90);
    return { shot, image: `renders/${shot}-v${version + 1}.png`, version: version + 1 };
  },
});

const publish = tool({
  name: 'publish',
  description: 'Publishes approved shots to the product page',
  input: z.object({ product: z.string(), shots: z.array(z.object({ shot: z.string(), image: z.string(), score: z.number() })) }),
  sideEffect: 'idempotent',
  run: async ({ product, shots }) => {
    await work(50);
    return { url: `https://shop.example/products/${product.toLowerCase().replaceAll(' ', '-')}`, published: shots.map((s) => s.shot) };
  },
});

const common = { progress: false, compaction: false, limits: { maxTurns: 6 } } as const;

export const planner = defineAgent({ id: 'planner', goal: (i: unknown) => `Plan the shots:${JSON.stringify(i)}`, model: model('plan_shots'), tools: [planShots], ...common });
export const generator = defineAgent({ id: 'generator', goal: (i: unknown) => `Render this shot:${JSON.stringify(i)}`, model: model('render'), tools: [render], ...common });
/** What a checker must answer: a score the pipeline can route on; anything else goes back to the checker, never to the pipeline. */
export const QcVerdict = z.object({ shot: z.string(), image: z.string(), version: z.number().int().positive(), score: z.number().min(0).max(100), notes: z.string() });
export type QcVerdict = z.infer<typeof QcVerdict>;

export const checker = defineAgent({
  id: 'checker',
  goal: (i: unknown) => `Score this render:${JSON.stringify(i)}`,
  model: model('score_image'),
  tools: [scoreImage],
  result: QcVerdict,
  ...common,
});
export const refiner = defineAgent({ id: 'refiner', goal: (i: unknown) => `Retouch this render:${JSON.stringify(i)}`, model: model('retouch'), tools: [retouch], ...common });
/** The publisher's answer is accepted only when it is what the publish call reported: a page the agent merely claims is rejected. */
function matchesReceipt(answer: unknown, run: VerifyRun) {
  const receipt = run.toolResults.filter((r) => r.tool === 'publish' && !r.isError).at(-1);
  if (!receipt) return reject('nothing was published: call publish, then answer with what it reported');
  return receipt.content === JSON.stringify(answer) ? accept('publish-receipt') : reject(`the answer differs from what publish reported: ${receipt.content}`);
}

export const publisher = defineAgent({
  id: 'publisher',
  goal: (i: unknown) => `Publish these shots:${JSON.stringify(i)}`,
  model: model('publish'),
  tools: [publish],
  verify: matchesReceipt,
  ...common,
});
