import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  accept,
  defineAgent,
  definePipeline,
  ModelCallError,
  modelVerifier,
  reject,
  scriptedModel,
  Supervisor,
  type Model,
  type ScriptContext,
  type ScriptStep,
  type VerifyRun,
} from '../../index.js';
import { MemoryStore } from '../../persistence/memory-store.js';
import { STORE_CASES } from '../durable/stores.js';
import { dyingInsideCommit } from '../support/faulty-store.js';
import { expectReason } from '../support/outcome.js';
import { counted, leaseExpired, until } from '../support/tools.js';

/** A model whose calls are counted: the ground truth for "never billed twice". */
function countedModel(model: Model): Model & { readonly calls: number } {
  let calls = 0;
  return {
    ...model,
    id: model.id,
    generate: (request) => {
      calls++;
      return model.generate(request);
    },
    get calls() {
      return calls;
    },
  };
}

/** The config files the task asks for, and a verifier that checks every one was written (by the tool results). */
const FILES = ['a.conf', 'b.conf'];
const allWritten = (result: unknown, run: VerifyRun) => {
  const written = new Set(run.toolResults.filter((r) => !r.isError).map((r) => (JSON.parse(r.content) as { wrote: string }).wrote));
  const missing = FILES.filter((f) => !written.has(f));
  return missing.length === 0 ? accept() : reject(`not written: ${missing.join(', ')}`);
};

/** The last user message the model saw: where a rejection's reason arrives. */
const lastUserMessage = (ctx: ScriptContext) => [...ctx.messages].reverse().find((m) => m.role === 'user')?.content ?? '';

describe('answers are verified before COMPLETED', () => {
  it('an answer that does not match the result schema goes back with the hint; the fixed one completes, verified by "schema"', async () => {
    const seen: string[] = [];
    const model = countedModel(
      scriptedModel((ctx) => {
        if (ctx.turn === 2) seen.push(lastUserMessage(ctx));
        return ctx.turn === 1 ? { answer: { total: 'forty' } } : { answer: { total: 40 } };
      }),
    );
    const agent = defineAgent({ id: 'sum', goal: 'add it up', model, result: z.object({ total: z.number() }) });
    const o = expectReason(await agent.run({ runId: 'v1' }), 'COMPLETED');
    expect(o.result).toEqual({ total: 40 });
    expect(o.verified).toMatchObject({ by: 'schema', attempts: 2 });
    expect(typeof o.verified?.at).toBe('number');
    expect(model.calls).toBe(2);
    expect(seen[0]).toContain('Your answer was not accepted (checked by schema, answer 1 of 3): The answer does not match the result schema');
    expect(seen[0]).toContain('- at total: Invalid input: expected number, received string; got "forty"');
  });

  it('an agent that claims half the job is rejected with the reason, re-plans, and completes', async () => {
    const script = (ctx: ScriptContext): ScriptStep => {
      const step = [
        { call: 'write_file', args: { name: 'a.conf' } },
        { answer: 'done' },
        // The reason reached the model: it writes what is missing.
        lastUserMessage(ctx).includes('not written: b.conf') ? { call: 'write_file', args: { name: 'b.conf' } } : { giveUp: 'lost' },
        { answer: 'done, both files' },
      ][ctx.turn - 1];
      return step as ScriptStep;
    };
    const model = countedModel(scriptedModel(script));
    const writeFile = counted({ name: 'write_file', description: 'write a config file', input: z.object({ name: z.string() }), sideEffect: 'idempotent', run: ({ name }) => ({ wrote: name }) });
    const agent = defineAgent({ id: 'config', goal: 'write a.conf and b.conf', model, tools: [writeFile.def], verify: allWritten, progress: false });
    const o = expectReason(await agent.run({ runId: 'v2' }), 'COMPLETED');
    expect(o.result).toBe('done, both files');
    expect(o.verified).toMatchObject({ by: 'verify', attempts: 2 });
    expect(model.calls).toBe(4);
    expect(writeFile.calls).toBe(2);
  });

  it('an agent that never gets it right ends RESULT_REJECTED with the check, the last answer, every reason and the attempts', async () => {
    const model = countedModel(scriptedModel(({ turn }) => ({ answer: `attempt ${turn}: done` })));
    const agent = defineAgent({ id: 'config', goal: 'write a.conf and b.conf', model, verify: allWritten, maxVerifyAttempts: 2 });
    const o = expectReason(await agent.run({ runId: 'v3' }), 'RESULT_REJECTED');
    expect(o).toMatchObject({ check: 'verify', answer: 'attempt 2: done', reasons: ['not written: a.conf, b.conf', 'not written: a.conf, b.conf'], attempts: 2, turns: 2 });
    expect(model.calls).toBe(2);
  });

  it('an agent without result or verify completes as before, with no `verified`', async () => {
    const agent = defineAgent({ id: 'plain', goal: 'g', model: scriptedModel([{ answer: 'ok' }]) });
    const o = expectReason(await agent.run(), 'COMPLETED');
    expect(o.verified).toBeUndefined();
  });

  it('a verifier that throws ends the run INTERNAL_ERROR in verifying: the answer is neither accepted nor rejected', async () => {
    const model = countedModel(scriptedModel([{ answer: 'done' }]));
    const agent = defineAgent({
      id: 'a',
      goal: 'g',
      model,
      verify: () => {
        throw new TypeError('verifier bug');
      },
    });
    const o = expectReason(await agent.run(), 'INTERNAL_ERROR');
    expect(o).toMatchObject({ where: 'verifying', error: { name: 'TypeError', message: 'verifier bug' } });
    expect(model.calls).toBe(1);
  });

  it('a verifier that gives no verdict in time ends INTERNAL_ERROR with VerifyTimeoutError, and its signal is aborted', async () => {
    let aborted = false;
    const agent = defineAgent({
      id: 'a',
      goal: 'g',
      model: scriptedModel([{ answer: 'done' }]),
      verifyTimeoutMs: 30,
      verify: (_result, run) =>
        new Promise(() => {
          run.signal.addEventListener('abort', () => (aborted = true), { once: true });
        }),
    });
    const o = expectReason(await agent.run(), 'INTERNAL_ERROR');
    expect(o).toMatchObject({ where: 'verifying', error: { name: 'VerifyTimeoutError' } });
    expect(aborted).toBe(true);
  });

  it('a rejecting verdict without a reason is a bug in the verifier: INTERNAL_ERROR', async () => {
    const agent = defineAgent({ id: 'a', goal: 'g', model: scriptedModel([{ answer: 'done' }]), verify: () => ({ ok: false }) });
    const o = expectReason(await agent.run(), 'INTERNAL_ERROR');
    expect(o.error.message).toContain('a rejecting verdict must say why');
  });
});

/** A checking model that answers with a verdict through report_verdict (or fails, or hangs), counted. */
function checker(behave: (n: number) => { ok: boolean; reason: string } | 'fail' | 'hang') {
  let n = 0;
  const model: Model = {
    id: 'checker',
    async generate(request) {
      n++;
      const b = behave(n);
      if (b === 'fail') throw new ModelCallError('provider down', { retryable: true, status: 503 });
      if (b === 'hang') return new Promise((_, rej) => request.signal.addEventListener('abort', () => rej(request.signal.reason), { once: true }));
      return {
        type: 'tool_calls',
        text: '',
        calls: [{ id: `v${n}`, name: 'report_verdict', arguments: JSON.stringify(b) }],
        usage: { inputTokens: 300, outputTokens: 20 },
        finishReason: 'tool_calls',
        rawFinishReason: 'tool_calls',
        modelId: 'checker',
      };
    },
  };
  return {
    model,
    get calls() {
      return n;
    },
  };
}

describe('the model verifier', () => {
  it('rejects half a job with its reason, accepts the fix; its tokens are the run\'s spend, and COMPLETED names it', async () => {
    const check = checker((n) => (n === 1 ? { ok: false, reason: 'only one of two files is written' } : { ok: true, reason: 'both files written' }));
    const worker = countedModel(scriptedModel(({ turn }) => ({ answer: turn === 1 ? 'wrote a.conf' : 'wrote a.conf and b.conf', usage: { inputTokens: 100, outputTokens: 10 } })));
    const agent = defineAgent({ id: 'a', goal: 'write a.conf and b.conf', model: worker, verify: modelVerifier({ model: check.model }) });
    const o = expectReason(await agent.run(), 'COMPLETED');
    expect(o.verified).toMatchObject({ by: 'model:checker', attempts: 2 });
    expect(check.calls).toBe(2);
    expect(worker.calls).toBe(2);
    // Two worker turns and two verdicts: 2 x 100 + 2 x 300 input tokens, not counted as turns.
    expect(o.usage).toMatchObject({ turns: 2, inputTokens: 800, outputTokens: 60 });
  });

  it('past its token budget the heuristic decides, and says so', async () => {
    const check = checker(() => ({ ok: false, reason: 'incomplete' }));
    const agent = defineAgent({
      id: 'a',
      goal: 'g',
      model: scriptedModel(({ turn }) => ({ answer: turn === 1 ? 'first' : 'second' })),
      // One verdict (320 tokens) spends the budget: the second answer is checked by the heuristic, which accepts a non-empty answer.
      verify: modelVerifier({ model: check.model, maxTokensPerRun: 300 }),
    });
    const o = expectReason(await agent.run(), 'COMPLETED');
    expect(o.verified?.by).toBe('heuristic (model:checker spent its budget: 320 of 300 tokens)');
    expect(check.calls).toBe(1);
  });

  it('a provider failure or a timeout falls back to the heuristic, which rejects an answer on top of a failed call', async () => {
    for (const behaviour of ['fail', 'hang'] as const) {
      const check = checker(() => behaviour);
      const agent = defineAgent({
        id: 'a',
        goal: 'g',
        model: scriptedModel([{ answer: '' }, { answer: '' }]),
        verify: modelVerifier({ model: check.model, timeoutMs: 30 }),
        maxVerifyAttempts: 2,
      });
      const o = expectReason(await agent.run(), 'RESULT_REJECTED');
      const why = behaviour === 'fail' ? 'failed: provider down' : 'failed: the model did not answer within 30 ms';
      expect(o.check).toBe(`heuristic (model:checker ${why})`);
      expect(o.reasons).toEqual(['the answer is empty', 'the answer is empty']);
      expect(check.calls).toBe(2);
    }
  });
});

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

describe('pipelines route on verification like on any outcome', () => {
  /** A drafter whose answers are checked: `good` drafts pass, others never do. */
  const drafter = defineAgent({
    id: 'drafter',
    goal: (i: unknown) => `draft:${JSON.stringify(i)}`,
    model: scriptedModel(({ messages }) => ({ answer: messages[0]?.content.includes('"good"') ? 'a full draft' : 'TODO' })),
    verify: (result) => (result === 'TODO' ? reject('the draft is a placeholder') : accept()),
    maxVerifyAttempts: 2,
    progress: false,
  });
  /** One draft stage: a single child (a rejected one ends the pipeline with its reason), or drafts fanned out and routed on. */
  const pipeline = (id: string, stage: 'single' | 'settled') =>
    definePipeline({
      id,
      stages: {
        draft:
          stage === 'single'
            ? { agent: drafter, input: () => ({ quality: 'bad' }), next: 'complete' }
            : {
                agent: drafter,
                children: () => [{ key: 'a', input: { quality: 'good' } }, { key: 'b', input: { quality: 'bad' } }],
                policy: 'settled',
                next: [{ when: 'draftRejected', to: 'escalate', why: () => 'a draft kept failing its check' }, { to: 'complete' }],
              },
      },
      guards: { draftRejected: ({ last }) => last?.children.some((c) => c.outcome.reason === 'RESULT_REJECTED') ?? false },
    });

  it('a stage whose child ends RESULT_REJECTED ends the pipeline with that reason and evidence, or takes the route that names it', async () => {
    const single = pipeline('drafts-single', 'single');
    const routed = pipeline('drafts-routed', 'settled');
    const supervisor = await Supervisor.open({ store: new MemoryStore(), agents: [single, routed], workerId: 'p1' });
    cleanups.push(() => supervisor.close({ timeoutMs: 200 }));
    const ended = await (await supervisor.start(single, { runId: 'ds' })).outcome;
    expect(ended).toMatchObject({ reason: 'RESULT_REJECTED', stage: 'draft', childRunId: 'ds.draft.0', check: 'verify', answer: 'TODO', attempts: 2 });
    const escalated = await (await supervisor.start(routed, { runId: 'dr' })).outcome;
    expect(escalated).toMatchObject({ reason: 'ESCALATED', by: 'pipeline', why: 'a draft kept failing its check', stage: 'draft' });
  });
});

for (const storeCase of STORE_CASES) {
  describe(`a crash between the answer and its verification on ${storeCase.name}`, () => {
    /** A durable agent whose first answer is rejected and second accepted; model and verifier calls counted. */
    function setup(runId: string) {
      const model = countedModel(scriptedModel(({ turn }) => ({ answer: `answer ${turn}` })));
      const verified: string[] = [];
      const agent = defineAgent({
        id: 'checked',
        goal: 'g',
        model,
        progress: false,
        verify: (result) => {
          verified.push(String(result));
          return result === 'answer 1' ? reject('half the job') : accept();
        },
      });
      return { model, verified, agent, runId };
    }

    async function crashAndRecover(runId: string, keepResults: boolean) {
      const { open, cleanup } = await storeCase.create();
      cleanups.push(cleanup);
      const t = setup(runId);
      // The worker dies inside the commit that carries the first verdict: with 'transcript' the verdict is lost,
      // with 'results' it is durable but the snapshot after it is not.
      const first = dyingInsideCommit(await open(), (c) => c.journalDone.some((d) => d.key.endsWith(':verify-1')), keepResults ? 'results' : 'transcript');
      const sup1 = await Supervisor.open({ store: first.store, agents: [t.agent], workerId: 'w1', leaseMs: 300 });
      await sup1.start('checked', { runId });
      await until(first.died, 5_000);
      await sup1.close({ timeoutMs: 200 });

      const store = await open();
      await leaseExpired(store, runId);
      const sup2 = await Supervisor.open({ store, agents: [t.agent], workerId: 'w2', leaseMs: 300 });
      cleanups.push(() => sup2.close({ timeoutMs: 200 }));
      const [recovered] = await sup2.recover();
      return { ...t, outcome: await recovered!.outcome };
    }

    it('verdict lost: the recovered run checks the same answer again and never re-asks the model for it', async () => {
      const r = await crashAndRecover(`verify-crash-lost-${storeCase.name}`, false);
      const o = expectReason(r.outcome, 'COMPLETED');
      expect(o.verified).toMatchObject({ by: 'verify', attempts: 2 });
      // One model call per answer: the crash cost a second check of answer 1, not a second model call.
      expect(r.model.calls).toBe(2);
      expect(r.verified).toEqual(['answer 1', 'answer 1', 'answer 2']);
      expect(o.usage.turns).toBe(2);
    }, 20_000);

    it('verdict durable: the recovered run takes the recorded verdict, and neither the model nor the verifier is called again', async () => {
      const r = await crashAndRecover(`verify-crash-kept-${storeCase.name}`, true);
      const o = expectReason(r.outcome, 'COMPLETED');
      expect(o.verified).toMatchObject({ by: 'verify', attempts: 2 });
      expect(r.model.calls).toBe(2);
      // The recorded rejection counted: answer 2 is the second attempt.
      expect(r.verified).toEqual(['answer 1', 'answer 2']);
    }, 20_000);
  });
}
