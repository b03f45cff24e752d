/**
 * Where a reins turn's time goes: runs the reins rows of the bench under the
 * V8 CPU profiler (the same profiler and .cpuprofile format as
 * `node --cpu-prof`, started after the warm-up so only the measured run is
 * sampled), writes the profiles, and prints the top self-time functions.
 *
 *   npx tsx bench/profile.ts                          reins + MemoryStore and + RedisStore, 1,000 turns
 *   npx tsx bench/profile.ts --stores memory,file,redis --turns 1000
 *   npx tsx bench/profile.ts --summarise CPU.*.cpuprofile [--root checkout] [--top 25]   summarise profiles written by node --cpu-prof
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { reinsContender, type StoreKit } from './contenders/reins.js';
import { formatSummary, readProfile, summarise, type CpuProfile } from './lib/cpuprofile.js';
import { startBenchRedis, type BenchRedis } from './lib/redis.js';
import { fileKit, memoryKit, redisKit } from './lib/stores.js';
import { collect } from './lib/system.js';
import { CurrentClock, TurnClock } from './workload.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const value = (flag: string) => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const top = Number(value('--top') ?? 25);
  if (argv[0] === '--summarise') {
    // --root: the checkout the profile was recorded in, when it is not this one.
    const root = resolve(value('--root') ?? ROOT);
    const files = argv.slice(1).filter((a, i, all) => !a.startsWith('--') && !(all[i - 1] ?? '').startsWith('--'));
    for (const path of files) console.log(formatSummary(path, summarise(readProfile(path), root, top)));
    return;
  }
  const turns = Number(value('--turns') ?? 1_000);
  const stores = (value('--stores') ?? 'memory,redis').split(',');
  const out = resolve(value('--out') ?? resolve(ROOT, 'bench/results/profiles'));
  mkdirSync(out, { recursive: true });

  let redis: BenchRedis | null = null;
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
  try {
    for (const name of stores) {
      let kit: StoreKit;
      if (name === 'memory') kit = memoryKit();
      else if (name === 'redis') kit = redisKit((redis ??= await startBenchRedis()));
      else if (name === 'file') {
        const f = await fileKit();
        if ('missing' in f) throw new Error(f.missing);
        kit = f;
      } else throw new Error(`unknown store ${name} (memory, file, redis)`);
      const board = new CurrentClock();
      const contender = await reinsContender(kit, board);
      try {
        await contender.run(Math.min(turns, 200), new TurnClock(200));
        collect();
        await session.post('Profiler.start');
        const result = await contender.run(turns, new TurnClock(turns));
        const { profile } = (await session.post('Profiler.stop')) as { profile: CpuProfile };
        const file = resolve(out, `reins-${name}-${turns}.cpuprofile`);
        writeFileSync(file, JSON.stringify(profile));
        console.log(`reins + ${kit.label}, ${turns} turns: ${result.ms.toFixed(0)} ms (${((result.ms * 1000) / turns).toFixed(0)} µs per turn), profile in ${file}`);
        console.log(formatSummary(`reins + ${kit.label}`, summarise(profile, ROOT, top)));
        console.log();
      } finally {
        await contender.close();
      }
    }
  } finally {
    session.disconnect();
    await redis?.stop();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
