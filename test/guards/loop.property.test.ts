import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type ActionRecord, callSignature } from '../../guards/action.js';
import { detectLoop, LoopPolicy } from '../../guards/loop.js';

/** A call and its result as the detector sees them; tiny alphabets so that random repetition is common. */
interface Triple {
  tool: string;
  argsHash: string;
  resultHash: string;
}

const triple: fc.Arbitrary<Triple> = fc.record({
  tool: fc.constantFrom('search', 'open', 'read'),
  argsHash: fc.constantFrom('a1', 'a2', 'a3'),
  resultHash: fc.constantFrom('r1', 'r2', 'r3'),
});

const policy: fc.Arbitrary<LoopPolicy> = fc
  .record({
    window: fc.integer({ min: 4, max: 64 }),
    minRepeats: fc.integer({ min: 2, max: 5 }),
    maxPeriod: fc.integer({ min: 1, max: 6 }),
    staleRepeats: fc.integer({ min: 2, max: 8 }),
  })
  .map((p) => LoopPolicy.parse(p));

const key = (t: Triple): string => JSON.stringify([t.tool, t.argsHash, t.resultHash]);

function records(triples: readonly Triple[]): ActionRecord[] {
  return triples.map((t, step) => ({ step, ...t, ok: true }));
}

/** True when the block is not a shorter block repeated, so its own period is its length. */
function isPrimitive(block: readonly Triple[]): boolean {
  const keys = block.map(key);
  for (let d = 1; d < keys.length; d++) {
    if (keys.length % d === 0 && keys.every((k, i) => k === keys[i % d])) return false;
  }
  return true;
}

/** The last `period * repeats` records really are one block of `period` repeated: the verdict is backed by the data. */
function tailRepeats(history: readonly ActionRecord[], period: number, repeats: number): boolean {
  const tail = history.slice(-period * repeats).map(key);
  return tail.length === period * repeats && tail.every((k, i) => i < period || k === tail[i - period]);
}

/** A prefix, then a primitive block repeated at least minRepeats times, inside a window that holds all of it. */
const planted = fc
  .record({
    prefix: fc.array(triple, { maxLength: 20 }),
    minRepeats: fc.integer({ min: 2, max: 5 }),
    maxPeriod: fc.integer({ min: 1, max: 6 }),
    extraRepeats: fc.integer({ min: 0, max: 2 }),
    slack: fc.integer({ min: 0, max: 20 }),
    staleRepeats: fc.integer({ min: 2, max: 8 }),
  })
  .chain((c) =>
    fc.record({
      config: fc.constant(c),
      block: fc.array(triple, { minLength: 1, maxLength: c.maxPeriod }).filter(isPrimitive),
    }),
  )
  .map(({ config, block }) => {
    const copies = config.minRepeats + config.extraRepeats;
    const loop = Array.from({ length: copies }, () => block).flat();
    const history = records([...config.prefix, ...loop]);
    const window = Math.max(4, loop.length + config.slack);
    const loopPolicy = LoopPolicy.parse({ window, minRepeats: config.minRepeats, maxPeriod: config.maxPeriod, staleRepeats: config.staleRepeats });
    return { history, block, copies, policy: loopPolicy };
  });

describe('detectLoop properties', () => {
  it('catches a planted primitive block with its period, or a smaller one the data really repeats', () => {
    fc.assert(
      fc.property(planted, ({ history, block, copies, policy: p }) => {
        const verdict = detectLoop(history, p);
        expect(verdict.looping).toBe(true);
        if (!verdict.looping) return;
        expect(verdict.period).toBeLessThanOrEqual(block.length);
        expect(verdict.pattern).toBe(verdict.period === 1 ? 'repeat' : 'cycle');
        expect(verdict.repeats).toBeGreaterThanOrEqual(p.minRepeats);
        expect(tailRepeats(history, verdict.period, verdict.repeats)).toBe(true);
        expect(verdict.actions).toEqual(history.slice(-verdict.period).map(callSignature));
        // A smaller period is only reported because the tail itself has it, never instead of the block.
        if (verdict.period === block.length) expect(verdict.repeats).toBeGreaterThanOrEqual(copies);
      }),
    );
  });

  it('reports exactly the planted period when the block has no repeated element', () => {
    const distinctBlocks = planted.filter(({ block }) => new Set(block.map(key)).size === block.length);
    fc.assert(
      fc.property(distinctBlocks, ({ history, block, copies, policy: p }) => {
        const verdict = detectLoop(history, p);
        expect(verdict).toMatchObject({ looping: true, period: block.length, pattern: block.length === 1 ? 'repeat' : 'cycle', window: p.window });
        expect(verdict.looping && verdict.repeats).toBeGreaterThanOrEqual(copies);
        expect(verdict.looping && verdict.actions).toEqual(block.map(callSignature));
      }),
    );
  });

  it('reports the smallest period that repeats at the tail', () => {
    fc.assert(
      fc.property(fc.array(triple, { maxLength: 40 }), policy, (triples, p) => {
        const history = records(triples);
        const verdict = detectLoop(history, p);
        if (!verdict.looping || verdict.pattern === 'stale-repeat') return;
        const inWindow = history.slice(-p.window);
        for (let smaller = 1; smaller < verdict.period; smaller++) expect(tailRepeats(inWindow, smaller, p.minRepeats)).toBe(false);
        expect(tailRepeats(inWindow, verdict.period, verdict.repeats)).toBe(true);
      }),
    );
  });

  it('never flags a sequence without a repeated (tool, args, result)', () => {
    const distinct = fc.uniqueArray(
      fc.record({ tool: fc.constantFrom('search', 'open', 'read'), argsHash: fc.string({ maxLength: 2 }), resultHash: fc.string({ maxLength: 2 }) }),
      { selector: key, maxLength: 80 },
    );
    fc.assert(
      fc.property(distinct, policy, (triples, p) => {
        expect(detectLoop(records(triples), p)).toEqual({ looping: false });
      }),
    );
  });

  it('never flags calls that repeat only with a result they have not returned before', () => {
    // Polling and re-reading shapes: a few calls hit over and over, each time the state has moved on.
    const calls = fc.array(fc.record({ tool: fc.constantFrom('status', 'read_file', 'list'), argsHash: fc.constantFrom('a1', 'a2') }), { maxLength: 80 });
    fc.assert(
      fc.property(calls, policy, (picked, p) => {
        const version = new Map<string, number>();
        const triples = picked.map((call) => {
          const v = (version.get(callSignature(call)) ?? 0) + 1;
          version.set(callSignature(call), v);
          return { ...call, resultHash: `v${v}` };
        });
        expect(detectLoop(records(triples), p)).toEqual({ looping: false });
      }),
    );
  });

  it('looks only at the last `window` actions', () => {
    fc.assert(
      fc.property(fc.array(triple, { maxLength: 80 }), policy, (triples, p) => {
        const history = records(triples);
        expect(detectLoop(history, p)).toEqual(detectLoop(history.slice(-p.window), p));
      }),
    );
  });

  it('clears as soon as a call brings new information, so a warned agent that changes course is not stopped', () => {
    fc.assert(
      fc.property(fc.array(triple, { maxLength: 80 }), policy, (triples, p) => {
        const history = records([...triples, { tool: 'search', argsHash: 'new', resultHash: 'new' }]);
        expect(detectLoop(history, p)).toEqual({ looping: false });
      }),
    );
  });
});
