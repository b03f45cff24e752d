import { describe, expect, it } from 'vitest';
import { type ActionRecord, hashValue } from '../../guards/action.js';
import { detectLoop, LoopPolicy, type LoopVerdict } from '../../guards/loop.js';
import { LoopTrace, loopTraces, type TracedCall } from '../corpus/loop-traces.js';

const policy = LoopPolicy.parse({});

function toRecord({ tool, args, result }: TracedCall, step: number): ActionRecord {
  const failed = typeof result === 'object' && result !== null && !Array.isArray(result) && 'error' in result;
  return { step, tool, argsHash: hashValue(args), resultHash: hashValue(result), ok: !failed };
}

interface Detection {
  trace: LoopTrace;
  /** 1-based index of the action after which the detector first fired, as the machine would see it. */
  at: number | null;
  verdict: LoopVerdict;
}

/** Replays a trace the way the machine does: after every call, over the history so far, stopping at the first detection. */
function replay(trace: LoopTrace): Detection {
  const history: ActionRecord[] = [];
  for (const [index, action] of trace.actions.entries()) {
    history.push(toRecord(action, index));
    const verdict = detectLoop(history, policy);
    if (verdict.looping) return { trace, at: index + 1, verdict };
  }
  return { trace, at: null, verdict: { looping: false } };
}

describe('loop detector on the labelled corpus (default policy)', () => {
  const traces = LoopTrace.array().parse(loopTraces);
  const detections = traces.map(replay);
  const falsePositives = detections.filter((d) => d.trace.label === 'ok' && d.at !== null);
  const misses = detections.filter((d) => d.trace.label === 'loop' && d.at === null);
  const loops = detections.filter((d) => d.trace.label === 'loop').length;
  const flagged = detections.filter((d) => d.at !== null).length;
  const caught = loops - misses.length;

  it('has a corpus worth measuring', () => {
    expect(traces.length).toBeGreaterThanOrEqual(40);
    expect(new Set(traces.map((t) => t.name)).size).toBe(traces.length);
    expect(loops).toBeGreaterThanOrEqual(15);
    expect(traces.length - loops).toBeGreaterThanOrEqual(15);
  });

  it('prints the table and the measured precision and recall', () => {
    const width = Math.max(...traces.map((t) => t.name.length));
    const lines = detections.map(({ trace, at, verdict }) => {
      const found = verdict.looping ? `${verdict.pattern} p=${verdict.period} x${verdict.repeats}` : '-';
      const mark = (trace.label === 'loop') === (at !== null) ? ' ' : '!';
      return `${mark} ${trace.name.padEnd(width)}  ${trace.label.padEnd(4)}  ${String(at ?? '-').padStart(3)}/${String(trace.actions.length).padEnd(3)}  ${found}`;
    });
    const precision = flagged === 0 ? 1 : caught / flagged;
    const recall = loops === 0 ? 1 : caught / loops;
    console.log(
      [
        `  ${'trace'.padEnd(width)}  label  at/len   detected`,
        ...lines,
        '',
        `traces ${traces.length} (loop ${loops}, ok ${traces.length - loops})`,
        `false positives ${falsePositives.length}: ${falsePositives.map((d) => d.trace.name).join(', ') || 'none'}`,
        `misses ${misses.length}: ${misses.map((d) => `${d.trace.name} (${d.trace.why})`).join('; ') || 'none'}`,
        `precision ${precision.toFixed(3)}  recall ${recall.toFixed(3)}`,
      ].join('\n'),
    );
  });

  it('never flags a trace labelled ok', () => {
    expect(falsePositives.map((d) => d.trace.name)).toEqual([]);
  });

  it('misses at most one trace labelled loop', () => {
    expect(misses.length).toBeLessThanOrEqual(1);
  });
});
