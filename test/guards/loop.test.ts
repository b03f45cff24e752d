import { describe, expect, it } from 'vitest';
import { type ActionRecord, callSignature, hashValue } from '../../guards/action.js';
import { detectLoop, LoopPolicy } from '../../guards/loop.js';

const defaults = LoopPolicy.parse({});

/** One call as a test writes it: tool, arguments, result; an `{ error }` result is a failed call. */
type Call = [tool: string, args: unknown, result: unknown];

function records(calls: readonly Call[]): ActionRecord[] {
  return calls.map(([tool, args, result], step) => ({
    step,
    tool,
    argsHash: hashValue(args),
    resultHash: hashValue(result),
    ok: !(typeof result === 'object' && result !== null && 'error' in result),
  }));
}

function sig(tool: string, args: unknown): string {
  return callSignature({ tool, argsHash: hashValue(args) });
}

function times<T>(n: number, make: (i: number) => T[]): T[] {
  return Array.from({ length: n }, (_, i) => make(i)).flat();
}

const search: Call = ['search', { q: 'refund policy' }, { hits: ['kb/12', 'kb/40'] }];
const openA: Call = ['open_page', { url: 'https://docs.example.com/a' }, { title: 'A', links: 3 }];
const openB: Call = ['open_page', { url: 'https://docs.example.com/b' }, { title: 'B', links: 5 }];
const openC: Call = ['open_page', { url: 'https://docs.example.com/c' }, { title: 'C', links: 1 }];
const openD: Call = ['open_page', { url: 'https://docs.example.com/d' }, { title: 'D', links: 0 }];
const fresh = (i: number): Call => ['lookup', { id: `order-${i}` }, { id: `order-${i}`, total: 10 + i }];

describe('LoopPolicy', () => {
  it('has conservative defaults', () => {
    expect(defaults).toEqual({ window: 24, minRepeats: 3, maxPeriod: 4, staleRepeats: 5, warnFirst: true });
  });

  it('refuses settings that would flag ordinary work', () => {
    expect(LoopPolicy.safeParse({ minRepeats: 1 }).success).toBe(false);
    expect(LoopPolicy.safeParse({ window: 3 }).success).toBe(false);
    expect(LoopPolicy.safeParse({ staleRepeats: 1 }).success).toBe(false);
    expect(LoopPolicy.safeParse({ maxPeriod: 0 }).success).toBe(false);
  });
});

describe('detectLoop: repeat', () => {
  it('flags the same call with the same result minRepeats times in a row', () => {
    expect(detectLoop(records([fresh(1), search, search, search]), defaults)).toEqual({
      looping: true,
      pattern: 'repeat',
      period: 1,
      repeats: 3,
      window: 24,
      actions: [sig('search', { q: 'refund policy' })],
    });
  });

  it('counts every back-to-back repetition in the window', () => {
    const verdict = detectLoop(records(times(7, () => [search])), defaults);
    expect(verdict).toMatchObject({ looping: true, pattern: 'repeat', period: 1, repeats: 7 });
  });

  it('does not flag two identical calls', () => {
    expect(detectLoop(records([fresh(1), search, search]), defaults)).toEqual({ looping: false });
  });

  it('flags a failing call that fails the same way every time', () => {
    const failing: Call = ['query_db', { sql: 'select * from ordrs' }, { error: 'relation "ordrs" does not exist' }];
    const verdict = detectLoop(records([failing, failing, failing]), defaults);
    expect(verdict).toMatchObject({ looping: true, pattern: 'repeat', repeats: 3 });
  });
});

describe('detectLoop: cycle', () => {
  it('flags A-B-A-B-A-B with period 2', () => {
    expect(detectLoop(records([fresh(1), openA, openB, openA, openB, openA, openB]), defaults)).toEqual({
      looping: true,
      pattern: 'cycle',
      period: 2,
      repeats: 3,
      window: 24,
      actions: [sig('open_page', { url: 'https://docs.example.com/a' }), sig('open_page', { url: 'https://docs.example.com/b' })],
    });
  });

  it('flags A-B-C three times with period 3, block oldest first', () => {
    const verdict = detectLoop(records([fresh(1), fresh(2), ...times(3, () => [search, openA, openB])]), defaults);
    expect(verdict).toEqual({
      looping: true,
      pattern: 'cycle',
      period: 3,
      repeats: 3,
      window: 24,
      actions: [sig('search', { q: 'refund policy' }), sig('open_page', { url: 'https://docs.example.com/a' }), sig('open_page', { url: 'https://docs.example.com/b' })],
    });
  });

  it('flags A-B-C-D three times with period 4', () => {
    const verdict = detectLoop(records(times(3, () => [openA, openB, openC, openD])), defaults);
    expect(verdict).toMatchObject({ looping: true, pattern: 'cycle', period: 4, repeats: 3 });
  });

  it('reports the block that ends the history, whatever phase it started in', () => {
    const verdict = detectLoop(records([openB, ...times(3, () => [openA, openB])]), defaults);
    expect(verdict).toMatchObject({ pattern: 'cycle', period: 2, repeats: 3 });
    expect(verdict.looping && verdict.actions).toEqual([sig('open_page', { url: 'https://docs.example.com/a' }), sig('open_page', { url: 'https://docs.example.com/b' })]);
  });

  it('needs whole repetitions: A-B-A-B-A is not yet three', () => {
    expect(detectLoop(records([openA, openB, openA, openB, openA]), defaults)).toEqual({ looping: false });
  });

  it('reports the smallest period: A-B-A-B repeated is period 2, a run of A is a repeat', () => {
    expect(detectLoop(records(times(3, () => [openA, openB, openA, openB])), defaults)).toMatchObject({ pattern: 'cycle', period: 2, repeats: 6 });
    expect(detectLoop(records(times(3, () => [openA, openA])), { ...defaults, minRepeats: 3 })).toMatchObject({ pattern: 'repeat', period: 1, repeats: 6 });
  });

  it('does not look past maxPeriod', () => {
    const five = times(3, () => [openA, openB, openC, openD, search]);
    expect(detectLoop(records(five), defaults)).toEqual({ looping: false });
    expect(detectLoop(records(five), { ...defaults, maxPeriod: 5 })).toMatchObject({ pattern: 'cycle', period: 5, repeats: 3 });
  });

  it('follows minRepeats', () => {
    expect(detectLoop(records([openA, openB, openA, openB]), { ...defaults, minRepeats: 2 })).toMatchObject({ pattern: 'cycle', period: 2, repeats: 2 });
    expect(detectLoop(records([search, search, search]), { ...defaults, minRepeats: 4 })).toEqual({ looping: false });
    expect(detectLoop(records([search, search, search, search]), { ...defaults, minRepeats: 4 })).toMatchObject({ pattern: 'repeat', repeats: 4 });
  });
});

describe('detectLoop: only the tail counts', () => {
  it('forgets a repeat that was broken since', () => {
    expect(detectLoop(records([search, search, search, search, fresh(1)]), defaults)).toEqual({ looping: false });
  });

  it('forgets a cycle that was broken since', () => {
    expect(detectLoop(records([...times(4, () => [openA, openB]), openC]), defaults)).toEqual({ looping: false });
  });

  it('clears as soon as a call brings new information', () => {
    const history = records([...times(3, () => [openA, openB]), fresh(9)]);
    expect(detectLoop(history.slice(0, -1), defaults).looping).toBe(true);
    expect(detectLoop(history, defaults)).toEqual({ looping: false });
  });
});

describe('detectLoop: stale-repeat', () => {
  // A wanders among A, B, C in no fixed order: no cycle, but nothing new after C is first seen.
  const wandering = [openA, openB, openC, openA, openC, openA, openB, openA, openC, openA, openB, openA];

  it('flags an identical call recurring staleRepeats times among calls that bring nothing new', () => {
    expect(detectLoop(records(wandering), defaults)).toEqual({
      looping: true,
      pattern: 'stale-repeat',
      period: 1,
      repeats: 5,
      window: 24,
      actions: [sig('open_page', { url: 'https://docs.example.com/a' })],
    });
  });

  it('counts only from the last new information: one recurrence fewer is not a loop', () => {
    expect(detectLoop(records(wandering.slice(0, -1)), defaults)).toEqual({ looping: false });
  });

  it('forgets the stale stretch once something new arrives', () => {
    expect(detectLoop(records([...wandering, fresh(1)]), defaults)).toEqual({ looping: false });
  });

  it('does not flag a recurring call between calls that each learn something', () => {
    expect(detectLoop(records(times(8, (i) => [search, fresh(i)])), defaults)).toEqual({ looping: false });
  });

  it('does not flag a recurring read between writes that change the world but answer the same "ok"', () => {
    const macro: Call = ['get_macro', { name: 'refund-approved' }, { body: 'Hi {{name}}, your refund is on its way.' }];
    const reply = (ticket: number): Call => ['send_reply', { ticket, body: `Hi customer ${ticket}, your refund is on its way.` }, { status: 'sent' }];
    expect(detectLoop(records(times(8, (i) => [macro, reply(i)])), defaults)).toEqual({ looping: false });
  });

  it('needs interleaving: a plain run is left to minRepeats', () => {
    expect(detectLoop(records(times(5, () => [search])), { ...defaults, minRepeats: 6 })).toEqual({ looping: false });
  });

  it('follows staleRepeats', () => {
    expect(detectLoop(records(wandering.slice(0, -1)), { ...defaults, staleRepeats: 4 })).toMatchObject({ pattern: 'stale-repeat', repeats: 4 });
  });
});

describe('detectLoop: never flagged by default', () => {
  it('the same tool with different arguments', () => {
    const calls = times(10, (i): Call[] => [['search', { q: 'refund policy', page: i + 1 }, { hits: [`kb/${i}`] }]]);
    expect(detectLoop(records(calls), defaults)).toEqual({ looping: false });
  });

  it('polling a status whose result changes, with identical waits between polls', () => {
    const calls = times(8, (i): Call[] => [
      ['deploy_status', { id: 'd-81' }, { state: 'rolling', updated: i * 2, of: 16 }],
      ['sleep', { seconds: 30 }, { slept: 30 }],
    ]);
    expect(detectLoop(records(calls), defaults)).toEqual({ looping: false });
  });

  it('editing a file step by step, re-reading it after each edit', () => {
    const calls = times(6, (i): Call[] => [
      ['read_file', { path: 'src/cart.ts' }, { sha: `c0ffee${i}` }],
      ['edit_file', { path: 'src/cart.ts', patch: `hunk ${i}` }, { ok: true }],
    ]);
    expect(detectLoop(records(calls), defaults)).toEqual({ looping: false });
  });

  it('a retry after a failure whose result changes', () => {
    const calls: Call[] = [
      ['fetch', { url: 'https://api.example.com/v1/rates' }, { error: 'ETIMEDOUT after 5000ms' }],
      ['fetch', { url: 'https://api.example.com/v1/rates' }, { error: '503 Service Unavailable (retry-after: 2)' }],
      ['fetch', { url: 'https://api.example.com/v1/rates' }, { error: 'ECONNRESET' }],
      ['fetch', { url: 'https://api.example.com/v1/rates' }, { eur: 1.08 }],
    ];
    expect(detectLoop(records(calls), defaults)).toEqual({ looping: false });
  });

  it('an empty or short history', () => {
    expect(detectLoop([], defaults)).toEqual({ looping: false });
    expect(detectLoop(records([search]), defaults)).toEqual({ looping: false });
  });
});

describe('detectLoop: window', () => {
  it('echoes the policy window', () => {
    expect(detectLoop(records([search, search, search]), { ...defaults, window: 7 })).toMatchObject({ window: 7 });
  });

  it('counts repetitions inside the window only', () => {
    expect(detectLoop(records(times(40, () => [search])), defaults)).toMatchObject({ pattern: 'repeat', repeats: 24 });
  });

  it('does not see repetitions that fell out of the window', () => {
    const cycle = records(times(3, () => [openA, openB, openC]));
    expect(detectLoop(cycle, { ...defaults, window: 9 })).toMatchObject({ pattern: 'cycle', period: 3, repeats: 3 });
    expect(detectLoop(cycle, { ...defaults, window: 8 })).toEqual({ looping: false });
  });

  it('judges new information against the window: a call last seen before it is new again', () => {
    const wandering = records([openA, openB, openC, openA, openC, openA, openB, openA, openC, openA, openB, openA]);
    expect(detectLoop(wandering, { ...defaults, window: 12 })).toMatchObject({ pattern: 'stale-repeat' });
    // In the last nine, A, C and B are each new again at their first sight, and only three A follow the last of them.
    expect(detectLoop(wandering, { ...defaults, window: 9 })).toEqual({ looping: false });
  });

  it('stays cheap at a window of 512', () => {
    const history = records(times(512, (i) => [fresh(i % 97)]));
    const policy = { ...defaults, window: 512, maxPeriod: 8 };
    const started = performance.now();
    for (let call = 0; call < 200; call++) detectLoop(history, policy);
    // Generous bound: it runs after every tool call, so it must stay far below a tool call's latency.
    expect((performance.now() - started) / 200).toBeLessThan(5);
  });
});
