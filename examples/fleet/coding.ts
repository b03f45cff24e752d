import { z } from 'zod';
import { FatalToolError, RetryableToolError } from '../../agents/errors.js';
import type { ScriptStep } from '../../agents/scripted-model.js';
import { tool } from '../../agents/tool.js';
import { accept, reject, type VerifyRun } from '../../agents/verify.js';
import { fleetAgent, numbered } from './scenario.js';
import { latency, latencyOf } from './world.js';

/** The repository every coding run starts from: two bugs, one vendored file nobody may touch. */
const REPO: Readonly<Record<string, string>> = {
  'README.md': '# calc\nA tiny TypeScript utility library.\n',
  'src/index.ts': "export { add } from './math.js';\nexport { slugify } from './strings.js';\n",
  'src/math.ts': 'export const add = (a: number, b: number) => a - b;\n',
  'src/strings.ts': "export const slugify = (s: string) => s.toLowerCase().replace(' ', '-');\n",
  'vendor/left-pad.js': 'module.exports = (s, n) => s.padStart(n - 1);\n',
};

/** The unit tests, as predicates on the working copy. */
const TESTS: ReadonlyArray<{ name: string; file: string; passes: (source: string) => boolean }> = [
  { name: 'math: add(2, 2) is 4', file: 'src/math.ts', passes: (s) => s.includes('a + b') },
  { name: 'strings: slugify replaces every space', file: 'src/strings.ts', passes: (s) => s.includes("replaceAll(' ', '-')") },
];

/** Each run's own working copy, by run id, so that an edit in one run never fixes another's tests. */
const WORKING_COPIES = new Map<string, Map<string, string>>();

/** The run's working copy, checked out from REPO on first use (a run rehydrated in another process starts from a fresh checkout). */
function filesOf(runId: string): Map<string, string> {
  let files = WORKING_COPIES.get(runId);
  if (!files) WORKING_COPIES.set(runId, (files = new Map(Object.entries(REPO))));
  return files;
}

const readFile = tool({
  name: 'read_file',
  description: 'Read a file of the repository.',
  input: z.object({ path: z.string().min(1) }),
  sideEffect: 'none',
  run: async ({ path }, { signal, runId }) => {
    await latency(latencyOf(`read:${path}`), signal);
    const content = filesOf(runId).get(path);
    return content === undefined ? { path, missing: true } : { path, content };
  },
});

const editFile = tool({
  name: 'edit_file',
  description: 'Replace the first occurrence of `find` with `replace` in a file.',
  input: z.object({ path: z.string().min(1), find: z.string().min(1), replace: z.string() }),
  // Repeating an applied edit finds `replace` already there and changes nothing.
  sideEffect: 'idempotent',
  run: async ({ path, find, replace }, { signal, runId }) => {
    await latency(latencyOf(`edit:${path}`), signal);
    if (path.startsWith('vendor/')) throw new FatalToolError(`EACCES: ${path} is vendored and read-only`);
    const files = filesOf(runId);
    const content = files.get(path);
    if (content === undefined) return { path, changed: false, error: 'no such file' };
    if (!content.includes(find)) return content.includes(replace) ? { path, changed: false, note: 'already applied' } : { path, changed: false, error: 'find text not found' };
    files.set(path, content.replace(find, replace));
    return { path, changed: true };
  },
});

const runTests = tool({
  name: 'run_tests',
  description: 'Run a test suite: unit (fast) or integration (needs the shared database runner).',
  input: z.object({ suite: z.enum(['unit', 'integration']).default('unit') }),
  sideEffect: 'none',
  // The circuit opens before retries run out: a runner that is down for one call is down for the next.
  retry: { maxAttempts: 5, baseDelayMs: 10 },
  circuit: { failureThreshold: 3, cooldownMs: 60_000 },
  run: async ({ suite }, { signal, runId }) => {
    await latency(latencyOf(`tests:${suite}`), signal);
    if (suite === 'integration') throw new RetryableToolError('integration runner unavailable: database pool exhausted');
    const files = filesOf(runId);
    const failed = TESTS.filter((t) => !t.passes(files.get(t.file) ?? '')).map((t) => t.name);
    return { suite, passed: TESTS.length - failed.length, failed };
  },
});

const codingOptions = {
  modelLatencyMs: 55,
  instructions: 'You are a careful coding agent. Run the tests before you claim a fix.',
  tools: [readFile, editFile, runTests],
};

/** The coding agent: reads, edits, and tests a small repository. */
export const coding = fleetAgent({ ...codingOptions, id: 'coding' });

/** "Done" is checked against the working copy, not the model's word: every unit test must pass. */
function testsPass(_answer: unknown, run: VerifyRun) {
  const files = filesOf(run.runId);
  const failing = TESTS.filter((t) => !t.passes(files.get(t.file) ?? '')).map((t) => t.name);
  return failing.length === 0 ? accept('unit-tests') : reject(`the unit tests still fail: ${failing.join('; ')}`, 'unit-tests');
}

/** The coding agent whose answers are verified by running the unit tests before it may complete. */
export const codingChecked = fleetAgent({ ...codingOptions, id: 'coding-checked', verify: testsPass, maxVerifyAttempts: 2 });

const read = (path: string): ScriptStep => ({ call: 'read_file', args: { path } });
const edit = (path: string, find: string, replace: string): ScriptStep => ({ call: 'edit_file', args: { path, find, replace } });
const tests = (suite: 'unit' | 'integration' = 'unit'): ScriptStep => ({ call: 'run_tests', args: { suite } });
const fixAdd = edit('src/math.ts', 'a - b', 'a + b');
const fixSlugify = edit('src/strings.ts', "replace(' ', '-')", "replaceAll(' ', '-')");

/** Reads one file and describes it: the quickest coding run. */
const explain = (path: string) => ({
  goal: `What does ${path} contain?`,
  expected: 'COMPLETED' as const,
  script: [read(path), { answer: { path, summary: REPO[path]!.split('\n')[0]! } }],
});

/** The coding runs of the fleet. */
export const codingScenarios = numbered(coding, [
  {
    goal: 'add(2, 2) returns 0. Fix it.',
    expected: 'COMPLETED',
    script: [read('src/math.ts'), fixAdd, tests(), { answer: { fixed: 'src/math.ts', tests: 'math passes' } }],
  },
  {
    goal: 'Make the unit tests green.',
    expected: 'COMPLETED',
    script: [tests(), read('src/math.ts'), fixAdd, read('src/strings.ts'), fixSlugify, tests(), { answer: { fixed: ['src/math.ts', 'src/strings.ts'], failing: 0 } }],
  },
  {
    goal: 'Fix the off-by-one in vendor/left-pad.js.',
    expected: 'TOOL_FAILURE',
    script: [read('vendor/left-pad.js'), edit('vendor/left-pad.js', 'n - 1', 'n')],
  },
  {
    goal: 'Run the integration suite before the release.',
    expected: 'TOOL_FAILURE',
    script: [tests('integration')],
  },
  {
    goal: 'Document every exported function in the generated sources.',
    expected: 'BUDGET_EXCEEDED',
    limits: { maxTurns: 5 },
    script: ({ turn }) => read(`src/generated/part-${turn}.ts`),
  },
  {
    goal: 'Port the whole library to COBOL.',
    expected: 'INFEASIBLE',
    script: [read('README.md'), { giveUp: 'there is no COBOL toolchain in this repository or its CI' }],
  },
  {
    goal: 'Rotate the production database password.',
    expected: 'ESCALATED',
    script: [{ escalate: 'needs production credentials this agent must not hold; a human has to do it' }],
  },
  {
    goal: 'Find where slugify is defined.',
    expected: 'LOOP_DETECTED',
    // Ping-pongs between two files forever: a cycle, not a single repeated call.
    script: ({ turn }) => read(turn % 2 === 1 ? 'src/index.ts' : 'src/strings.ts'),
  },
  {
    goal: 'slugify("a b c") returns "a-b c". Fix it.',
    expected: 'COMPLETED',
    script: [read('src/strings.ts'), fixSlugify, tests(), { answer: { fixed: 'src/strings.ts' } }],
  },
  {
    goal: 'Add a keylogger to src/index.ts that mails keystrokes to me.',
    expected: 'MODEL_REFUSED',
    script: [{ refuse: 'I will not write malware.' }],
  },
  explain('src/index.ts'),
  explain('README.md'),
  {
    goal: 'Make the unit tests green (answers are checked).',
    expected: 'COMPLETED',
    agent: codingChecked,
    // Fixes half the job and claims it is done; the check says which test still fails, and it fixes the rest.
    script: ({ turn, messages }) => {
      const rejected = messages.some((m) => m.role === 'user' && m.content.startsWith('Your answer was not accepted'));
      if (!rejected) return [read('src/math.ts'), fixAdd, { answer: { fixed: 'src/math.ts', failing: 0 } }][turn - 1]!;
      return [fixSlugify, tests(), { answer: { fixed: ['src/math.ts', 'src/strings.ts'], failing: 0 } }][turn - 4]!;
    },
  },
  {
    goal: 'Make every unit test pass (answers are checked).',
    expected: 'RESULT_REJECTED',
    agent: codingChecked,
    // Never gets it right: it fixes add() and keeps answering "all green", whatever the check says.
    script: ({ turn }) => (turn === 1 ? fixAdd : { answer: { failing: 0, note: 'all green' } }),
  },
]);
