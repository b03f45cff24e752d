// The cost of one FileStore commit as a run gets long: a ~5 KB record, one journal `done`, one trace entry per commit
// ("plain"), and with "turn" also the `started` of the next call, a trim every 20 steps and a transcript step every
// other commit, as an agent turn's commit has.
// Usage: npx tsx test/persistence/file-store-commit-bench.ts [commits=10000] [turn|plain]
// Prints µs per commit by window of the run, the cost of a fresh process's first load at points of the run, and disk use.
import { closeSync, fdatasync, openSync, writeSync } from 'node:fs';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { promisify } from 'node:util';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commitOf } from '../../persistence/commit.js';
import { FileStore } from '../../persistence/file-store.js';
import { recordOf } from './conformance.js';

const commits = Number(process.argv[2] ?? 10_000);
const turn = (process.argv[3] ?? 'turn') === 'turn';
const dir = await mkdtemp(join(tmpdir(), 'reins-commit-bench-'));
const store = await FileStore.open(dir);
const id = 'bench';
await store.create(recordOf(id, 1));
const fence = { leaseToken: (await store.acquireLease(id, 'bench', 3_600_000))!.token };
const notes = 'x'.repeat(4_800);
const key = (step: number) => `${id}:${step}:1`;
await store.journalStart(id, key(1), 1, fence);

const windows = [100, 1_000, 2_000, 5_000, 10_000].filter((n) => n <= commits);
const micros: number[] = [];
const cpu0 = process.cpuUsage();
let cpuLoads = 0;
const loads: string[] = [];
for (let step = 1; step <= commits; step++) {
  const c = commitOf(id, {
    journalDone: [{ key: key(step), step, result: { ok: true, step } }],
    record: recordOf(id, step + 1, { step }, { value: 'acting', context: { step, notes } }),
    trace: [{ at: Date.now(), kind: 'transition', to: 'acting', step }],
    ...(turn
      ? {
          transcript: step % 2 === 0 ? [{ step, messages: [{ role: 'assistant', content: `step ${step}` }] }] : [],
          journalStart: { key: key(step + 1), step: step + 1 },
          trimBelow: step % 20 === 0 ? step : null,
        }
      : {}),
  });
  const t = process.hrtime.bigint();
  await store.commit(c, fence);
  micros.push(Number(process.hrtime.bigint() - t) / 1_000);
  if (windows.includes(step)) {
    // A second process's view: a fresh instance reads the log from scratch.
    const c0 = process.cpuUsage();
    const fresh = new FileStore({ dir });
    const t0 = performance.now();
    const record = await fresh.load(id);
    const ms = performance.now() - t0;
    if (record?.version !== step + 1 || (await fresh.journalGet(id, key(step)))?.status !== 'done') throw new Error(`fresh load at ${step} is wrong`);
    const files = await readdir(join(dir, 'runs', id));
    const bytes = (await Promise.all(files.map((f) => stat(join(dir, 'runs', id, f))))).reduce((n, s) => n + s.size, 0);
    loads.push(`  after ${String(step).padStart(6)} commits: fresh load ${ms.toFixed(1)} ms, run folder ${(bytes / 1024).toFixed(0)} KiB (run.log ${((await stat(join(dir, 'runs', id, 'run.log'))).size / 1024).toFixed(0)} KiB)`);
    await fresh.close();
    const c1 = process.cpuUsage(c0);
    cpuLoads += c1.user + c1.system;
  }
}

// The floor on this disk: the same bytes appended to a plain file, each followed by fdatasync.
const floor: number[] = [];
const raw = openSync(join(dir, 'floor'), 'a');
const line = Buffer.from(`${'x'.repeat(6_200)}\n`);
for (let i = 0; i < 2_000; i++) {
  const t = process.hrtime.bigint();
  writeSync(raw, line);
  await promisify(fdatasync)(raw);
  floor.push(Number(process.hrtime.bigint() - t) / 1_000);
}
closeSync(raw);

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
const pct = (xs: number[], p: number) => sorted(xs)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
console.log(`FileStore.commit, ${commits} commits of one run (~5 KB record + done + trace${turn ? ' + started, a transcript step every other, a trim every 20' : ''})`);
const cpu = process.cpuUsage(cpu0);
console.log(`  CPU (this process, user + system): ${((cpu.user + cpu.system - cpuLoads) / commits).toFixed(0)} µs per commit`);
console.log(`  all:       mean ${mean(micros).toFixed(0)} µs, p50 ${pct(micros, 0.5).toFixed(0)} µs, p99 ${pct(micros, 0.99).toFixed(0)} µs, max ${Math.max(...micros).toFixed(0)} µs`);
const ranges = [[0, 2_000], [100, 200], [1_000, 1_100], [commits - 2_000, commits], [commits - 100, commits]].filter(([from, to], i, all) => from! >= 0 && to! <= commits && from! < to! && all.findIndex(([f, t]) => f === from && t === to) === i);
for (const [from, to] of ranges as [number, number][]) {
  const w = micros.slice(from, to);
  console.log(`  ${`${from + 1}..${to}:`.padEnd(12)} mean ${mean(w).toFixed(0)} µs, p50 ${pct(w, 0.5).toFixed(0)} µs, p99 ${pct(w, 0.99).toFixed(0)} µs`);
}
for (const l of loads) console.log(l);
console.log(`  floor: 6 KB append + fdatasync to a plain file, mean ${mean(floor).toFixed(0)} µs, p50 ${pct(floor, 0.5).toFixed(0)} µs, p99 ${pct(floor, 0.99).toFixed(0)} µs`);
await store.close();
await rm(dir, { recursive: true, force: true });
