import { describe, expect, it } from 'vitest';
import type { ActionRecord } from '../../guards/action.js';
import { ProgressPolicy, ProgressVerdict, heuristicJudge, progressCheckDue } from '../../guards/progress.js';

let step = 0;
const act = (tool: string, resultHash: string, ok = true): ActionRecord => ({ step: step++, tool, argsHash: `a${step}`, resultHash, ok });
const goal = 'find the refund policy';

describe('ProgressPolicy', () => {
  it('has the documented defaults', () => {
    expect(ProgressPolicy.parse({})).toEqual({ everyTurns: 6, maxFailedChecks: 2 });
  });
});

describe('heuristicJudge', () => {
  it('is progressing when a recent action returned a result not seen before', () => {
    const verdict = heuristicJudge({ goal, earlierSteps: [act('search', 'r1')], recentSteps: [act('search', 'r1'), act('fetch', 'r2')] });
    expect(verdict).toEqual({ progressing: true, why: '1 of the last 2 actions returned something new (fetch)' });
    expect(ProgressVerdict.parse(verdict)).toEqual(verdict);
  });

  it('names every tool that brought something new, once', () => {
    const recent = [act('search', 'r1'), act('fetch', 'r2'), act('search', 'r3')];
    expect(heuristicJudge({ goal, earlierSteps: [], recentSteps: recent })).toEqual({
      progressing: true,
      why: '3 of the last 3 actions returned something new (search, fetch)',
    });
  });

  it('is not progressing when the window only repeated results, and says which', () => {
    const recent = Array.from({ length: 6 }, () => act('search', 'same'));
    expect(heuristicJudge({ goal, earlierSteps: [act('search', 'same')], recentSteps: recent })).toEqual({
      progressing: false,
      why: 'last 6 actions returned nothing new: 6 repeated results of search',
    });
  });

  it('counts a result repeated within the window as new only the first time', () => {
    const recent = [act('search', 'x'), act('search', 'x'), act('search', 'x')];
    expect(heuristicJudge({ goal, earlierSteps: [], recentSteps: recent }).why).toBe('1 of the last 3 actions returned something new (search)');
  });

  it('treats failures as nothing new, and lists the most frequent kind first', () => {
    const recent = [act('fetch', 'e1', false), act('search', 'r1'), act('fetch', 'e2', false), act('fetch', 'e3', false), act('search', 'r1')];
    expect(heuristicJudge({ goal, earlierSteps: [act('search', 'r1')], recentSteps: recent })).toEqual({
      progressing: false,
      why: 'last 5 actions returned nothing new: 3 failed calls of fetch, 2 repeated results of search',
    });
  });

  it('keeps first-seen order for ties and singular wording for one', () => {
    const recent = [act('write', 'w', false), act('read', 'r')];
    expect(heuristicJudge({ goal, earlierSteps: [act('read', 'r')], recentSteps: recent }).why).toBe(
      'last 2 actions returned nothing new: 1 failed call of write, 1 repeated result of read',
    );
  });

  it('does not count a failed earlier result as seen', () => {
    // The same hash once came back as an error; now it is a real result.
    expect(heuristicJudge({ goal, earlierSteps: [act('fetch', 'h', false)], recentSteps: [act('fetch', 'h')] }).progressing).toBe(true);
  });

  it('does not judge a window without actions (talking only is left to the turn budget)', () => {
    expect(heuristicJudge({ goal, earlierSteps: [act('search', 'r1')], recentSteps: [] })).toEqual({
      progressing: true,
      why: 'no tool calls since the last check; talking without acting is left to the turn budget',
    });
    expect(heuristicJudge({ goal, earlierSteps: [], recentSteps: [] }).progressing).toBe(true);
  });

  it('uses singular wording for a one-action window', () => {
    expect(heuristicJudge({ goal, earlierSteps: [act('a', 'x')], recentSteps: [act('a', 'x')] }).why).toBe(
      'last 1 action returned nothing new: 1 repeated result of a',
    );
  });
});

describe('progressCheckDue', () => {
  const policy = ProgressPolicy.parse({ everyTurns: 6 });
  it('is due every `everyTurns` turns after the last check', () => {
    expect([0, 5, 6, 7].map((turns) => progressCheckDue(turns, 0, policy))).toEqual([false, false, true, true]);
    expect([6, 11, 12].map((turns) => progressCheckDue(turns, 6, policy))).toEqual([false, false, true]);
  });
});
