/**
 * How fast exploration runs: 1,000 paths of a five-tool agent (read-only,
 * idempotent, non-idempotent with reconcile, one behind an approval, retries)
 * with every fault, and the same-run ratio of one explored path to one
 * scenario run of the agent's script without faults.
 *
 *   npm run bench:explore [-- --paths 1000]
 */
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { defineAgent, scriptedModel, tool, type ScriptStep } from '../index.js';
import { explore, scenario } from '../testing/index.js';

const { values } = parseArgs({ options: { paths: { type: 'string', default: '1000' } } });
const maxPaths = Number(values.paths);

const input = z.object({ id: z.string() });
const effects = new Set<string>();
const tools = [
  tool({ name: 'lookup', description: 'read', input, sideEffect: 'none', run: ({ id }) => ({ id }) }),
  tool({ name: 'tag', description: 'idempotent', input, sideEffect: 'idempotent', retry: { maxAttempts: 3 }, run: ({ id }) => ({ tagged: id }) }),
  tool({
    name: 'charge',
    description: 'non-idempotent, reconcilable',
    input,
    sideEffect: 'non-idempotent',
    run: (_, { idempotencyKey }) => void effects.add(idempotencyKey),
    reconcile: (key) => (effects.has(key) ? { applied: true, result: null } : { applied: false }),
  }),
  tool({ name: 'publish', description: 'needs approval', input, sideEffect: 'idempotent', approval: true, run: ({ id }) => ({ published: id }) }),
  tool({ name: 'notify', description: 'read', input, sideEffect: 'none', run: () => ({ ok: true }) }),
];
const script: ScriptStep[] = [...tools.map((t) => ({ call: t.name, args: { id: 'x' } })), { answer: 'done' }];
const agent = defineAgent({ id: 'five-tools', goal: 'use five tools', model: scriptedModel(script), tools, progress: false, limits: { maxTurns: 12 } });

// Baseline: the same script as one scenario (same store, supervisor and clock), no faults.
const plainRuns = 20;
const plainStart = performance.now();
for (let i = 0; i < plainRuns; i++) await scenario(agent, { approvals: ['approve'] });
const plainMs = (performance.now() - plainStart) / plainRuns;

const cpu = process.cpuUsage();
const report = await explore(agent, { maxPaths, depth: 12, stopAtFirstFailure: false });
const used = process.cpuUsage(cpu);
// User CPU, not wall time: the machine may be shared; the target is 1,000 paths in under 10 s.
const cpuMsPerPath = used.user / 1000 / report.paths;
const thousandSeconds = (cpuMsPerPath * 1000) / 1000;
console.log(report.format().split('\n').slice(0, 3).join('\n'));
console.log(
  `explore: ${report.paths} paths in ${(report.elapsedMs / 1000).toFixed(1)} s wall, ${(used.user / 1e6).toFixed(1)} s user CPU = ` +
    `${(1000 / cpuMsPerPath).toFixed(0)} paths/s of CPU (${report.pathsPerSecond.toFixed(0)} paths/s wall); ${cpuMsPerPath.toFixed(1)} ms CPU a path; ` +
    `one explored path = ${(report.elapsedMs / report.paths / plainMs).toFixed(1)}x one scenario run without faults (${plainMs.toFixed(1)} ms); failures ${report.failures.length}`,
);
console.log(`1,000 paths of a five-tool agent: ${thousandSeconds.toFixed(1)} s of CPU${report.paths === 1000 ? '' : ' (projected)'}: target under 10 s ${thousandSeconds < 10 ? 'met' : 'missed'}`);
for (const f of report.failures.slice(0, 3)) console.log(`  failure: ${f.violations.map((v) => v.message).join('; ')} (${f.path.map((c) => `${c.at} -> ${c.pick}`).join(', ')})`);
