import { describe, expect, it } from 'vitest';
import { fitTable, type Column } from '../../cli/columns.js';
import { relativeStack } from '../../cli/paths.js';

const columns: Column[] = [
  { head: 'RUN', cells: ['run-1', 'a-much-longer-run-id'], keep: 100 },
  { head: 'AGENT', cells: ['support', 'research-assistant'], keep: 90, minWidth: 8 },
  { head: 'STEP', cells: ['3', '12'], keep: 60, align: 'right' },
  { head: 'OWNER', cells: ['host:1234', ''], keep: 10 },
];

describe('fitTable', () => {
  it('shows every cell whole when there is no width to fit', () => {
    const lines = fitTable(columns, null);
    expect(lines).toEqual([
      'RUN                   AGENT               STEP  OWNER',
      'run-1                 support                3  host:1234',
      'a-much-longer-run-id  research-assistant    12',
    ]);
  });

  it('cuts what may be cut (down to its minimum), then drops the lowest-kept columns, never past the width', () => {
    expect(fitTable(columns, 47)).toEqual(['RUN                   AGENT     STEP  OWNER', 'run-1                 support      3  host:1234', 'a-much-longer-run-id  researc…    12']);
    expect(fitTable(columns, 46)).toEqual(['RUN                   AGENT     STEP', 'run-1                 support      3', 'a-much-longer-run-id  researc…    12']);
    expect(fitTable(columns, 25)).toEqual(['RUN', 'run-1', 'a-much-longer-run-id']);
    for (const width of [20, 25, 30, 36, 46, 47, 60]) for (const line of fitTable(columns, width)) expect(line.length).toBeLessThanOrEqual(width);
  });
});

describe('relativeStack', () => {
  it('prints frames relative to the working folder, from node_modules/, or by their last two segments', () => {
    const stack = [
      'TypeError: boom',
      '    at plan (file:///work/app/examples/fleet/research.ts:151:70)',
      '    at run (/work/app/node_modules/xstate/dist/index.js:10:5)',
      '    at other (/opt/lib/deep/file.js:1:1)',
      '    at node:internal/process/task_queues:95:5',
    ].join('\n');
    expect(relativeStack(stack, '/work/app')).toBe(
      [
        'TypeError: boom',
        '    at plan (examples/fleet/research.ts:151:70)',
        '    at run (node_modules/xstate/dist/index.js:10:5)',
        '    at other (…/deep/file.js:1:1)',
        '    at node:internal/process/task_queues:95:5',
      ].join('\n'),
    );
  });
});
