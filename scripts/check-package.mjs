// Checks the package as a user receives it: packs the tarball, installs it in a fresh folder with only what the
// README names, compiles a strict TypeScript file against the public entry points (lib check on, so any type that
// leaks from a dependency is checked too), runs it, and tries require() and the CLI. Exits non-zero on the first
// failure. Needs the npm registry. Run by .ci/run; `npm run check:package` by hand.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const work = mkdtempSync(join(tmpdir(), 'reins-package-'));
const keep = process.argv.includes('--keep');
let checks = 0;

/** Runs a command; returns its stdout, or throws with its output. */
function run(cmd, args, options = {}) {
  try {
    return execFileSync(cmd, args, { cwd: work, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...options });
  } catch (error) {
    throw new Error(`${cmd} ${args.join(' ')} failed (exit ${error.status}):\n${error.stdout ?? ''}${error.stderr ?? ''}`);
  }
}

/** Records one passed check. */
function pass(what) {
  checks += 1;
  console.log(`ok ${checks} - ${what}`);
}

/** Fails the run unless `condition` holds. */
function expect(condition, what, detail = '') {
  if (!condition) throw new Error(`not ok: ${what}${detail ? `\n${detail}` : ''}`);
  pass(what);
}

try {
  // npm pack runs prepack (the build), so this is the tarball `npm publish` would upload.
  const [packed] = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', work], { cwd: root }));
  const files = packed.files.map((f) => f.path);
  expect(files.includes('LICENSE') && files.includes('CHANGELOG.md'), 'the tarball holds LICENSE and CHANGELOG.md');
  expect(!files.some((f) => /^dist\/test\//.test(f)), 'the tarball holds no tests');
  const manifest = JSON.parse(run('tar', ['-xzOf', packed.filename, 'package/package.json']));
  expect(!manifest.scripts?.prepare, 'the published manifest has no prepare script');
  const maps = files.filter((f) => f.endsWith('.map'));
  run('tar', ['-xzf', packed.filename]);
  const unsourced = maps.filter((f) => !JSON.parse(readFileSync(join(work, 'package', f), 'utf8')).sourcesContent?.every((s) => typeof s === 'string'));
  expect(unsourced.length === 0, `every source map (${maps.length}) carries its sources`, unsourced.slice(0, 5).join('\n'));
  rmSync(join(work, 'package'), { recursive: true });

  // A fresh ES module project with what the README names: reins (zod comes as its peer), TypeScript and Node's types.
  writeFileSync(join(work, 'package.json'), JSON.stringify({ name: 'user-project', private: true, type: 'module' }));
  const dev = pkg.devDependencies;
  run('npm', ['install', '--no-audit', '--no-fund', join(work, packed.filename), `typescript@${dev.typescript}`, `@types/node@${dev['@types/node']}`]);
  const installed = readdirSync(join(work, 'node_modules'));
  expect(installed.includes('zod'), 'zod is installed as a peer dependency');
  expect(!installed.includes('ioredis') && !installed.includes('prom-client'), 'ioredis and prom-client are not installed (optional peers)');

  const tsconfig = (include) => ({
    compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, skipLibCheck: false, outDir: 'out', noUncheckedIndexedAccess: true },
    include,
  });
  writeFileSync(join(work, 'tsconfig.json'), JSON.stringify(tsconfig(['main.ts'])));
  writeFileSync(
    join(work, 'main.ts'),
    `import { z } from 'zod';
import { defineAgent, scriptedModel, Supervisor, tool, createLogger, type Logger } from 'reins';
import { FileStore } from 'reins/persistence';
import { otelObserver } from 'reins/telemetry';
import { TerminalOutcome } from 'reins/machines';
import { allocateChild } from 'reins/guards';

const lookup = tool({
  name: 'lookup_order',
  description: 'Status of an order',
  input: z.object({ orderId: z.string() }),
  sideEffect: 'none',
  run: async ({ orderId }) => ({ orderId, status: 'shipped' }),
});
const support = defineAgent({
  id: 'support',
  goal: (ticket: { text: string }) => \`Resolve this ticket: \${ticket.text}\`,
  model: scriptedModel([{ call: 'lookup_order', args: { orderId: '42' } }, { answer: 'order 42 has shipped' }]),
  tools: [lookup],
  limits: { maxTurns: 5 },
});
const logger: Logger = createLogger();
const store = await FileStore.open(process.argv[2] ?? '.reins');
const supervisor = await Supervisor.open({ store, agents: [support], logger, observers: [otelObserver()] });
const run = await supervisor.start('support', { input: { text: 'where is order 42?' } });
const outcome: TerminalOutcome = TerminalOutcome.parse(await run.outcome);
console.log(outcome.reason, typeof allocateChild);
await supervisor.close();
await store.close();
`,
  );
  run('npx', ['tsc', '-p', '.']);
  pass('a strict TypeScript file compiles against reins, reins/persistence, reins/telemetry, reins/machines, reins/guards (lib check on)');
  expect(run('node', ['out/main.js', 'store']).trim() === 'COMPLETED function', 'the compiled file runs an agent to COMPLETED on a FileStore without ioredis or prom-client');

  writeFileSync(join(work, 'main.cjs'), `const { FileStore } = require('reins/persistence');\nconsole.log(typeof FileStore.open);\n`);
  const requireModule = process.features.require_module === true;
  if (requireModule) expect(run('node', ['main.cjs']).trim() === 'function', "require('reins/persistence') works where Node can require ES modules");
  let message = '';
  try {
    run('node', ['--no-experimental-require-module', 'main.cjs']);
  } catch (error) {
    message = error.message;
  }
  expect(/reins\/persistence is an ES module: use import/.test(message), "require() says the package is ESM where Node cannot require ES modules", message);

  let cli = '';
  try {
    run('npx', ['reins', 'ps', '--store', 'redis://127.0.0.1:1']);
  } catch (error) {
    cli = error.message;
  }
  expect(/exit 1/.test(cli) && /npm install ioredis/.test(cli), 'reins with a Redis store and no ioredis says what to install', cli);
  expect(/^\s+init\b/m.test(run('npx', ['reins', '--help'])), 'npx reins runs the installed CLI');

  // reins init, then the scaffolded project as its README says: tsx lets Node 20 load reins.config.ts.
  const init = run('npx', ['reins', 'init']);
  expect(/created {2}reins\.config\.ts/.test(init) && init.includes('npx reins diagram support'), 'npx reins init scaffolds the project and prints npx hints', init);
  run('npm', ['install', '--no-audit', '--no-fund', '-D', `tsx@${dev.tsx}`]);
  expect(run('npx', ['reins', 'diagram', 'support']).includes('stateDiagram-v2'), "npx reins diagram draws the project's agent from reins.config.ts");
  expect(/# pass 1\b/.test(run('node', ['--import', 'tsx', '--test', 'test/support.test.ts'])), 'the scaffolded test passes');

  // The optional entry points, with the optional peers the README names.
  run('npm', ['install', '--no-audit', '--no-fund', `ioredis@${dev.ioredis}`, `prom-client@${dev['prom-client']}`]);
  writeFileSync(join(work, 'tsconfig.json'), JSON.stringify(tsconfig(['main.ts', 'fleet.ts', 'reins.config.ts', 'agents', 'test'])));
  writeFileSync(
    join(work, 'fleet.ts'),
    `import { RedisStore, type RedisStoreOptions } from 'reins/redis';
import { createMetrics } from 'reins/metrics';
import { MemoryStore } from 'reins/persistence';

const options: Partial<RedisStoreOptions> = {};
const metrics = createMetrics({ store: new MemoryStore() });
console.log(typeof RedisStore.connect, Object.keys(options).length, metrics.contentType.split(';')[0]);
`,
  );
  run('npx', ['tsc', '-p', '.']);
  pass('reins/redis, reins/metrics and the scaffolded files compile with ioredis and prom-client installed');
  expect(run('node', ['out/fleet.js']).trim() === 'function 0 text/plain', 'reins/redis and reins/metrics load');

  // reins/testing with vitest, as docs/testing.md shows it: a scenario with the matchers, and an exploration that finds the in-doubt path.
  run('npm', ['install', '--no-audit', '--no-fund', '-D', `vitest@${dev.vitest}`]);
  writeFileSync(
    join(work, 'kit.test.ts'),
    `import { expect, it } from 'vitest';
import { z } from 'zod';
import { defineAgent, scriptedModel, tool } from 'reins';
import { explore, mockTool, scenario } from 'reins/testing';
import 'reins/testing/vitest';

const send = tool({ name: 'send_email', description: 'send', input: z.object({ to: z.string() }), sideEffect: 'non-idempotent', timeoutMs: 100, run: ({ to }) => ({ to }) });
const model = [{ call: 'send_email', args: { to: 'dana@example.com' } }, { answer: 'sent' }];
const agent = defineAgent({ id: 'mailer', goal: 'write to Dana', model: scriptedModel(model), tools: [send] });

it('a scenario', async () => {
  const run = await scenario(agent, { tools: [mockTool('send_email', [{ retryable: 'busy' }, { returns: { to: 'dana@example.com' } }])] });
  expect(run).toEndWith('COMPLETED');
  expect(run).toHaveCalled('send_email', 1);
});

it('an exploration', async () => {
  const report = await explore(agent, { model, forbid: ['ACTION_IN_DOUBT'] });
  expect(report.ok).toBe(false);
  expect(report.format()).toContain('shortest failing path (1 fault');
});
`,
  );
  expect(/2 passed/.test(run('npx', ['vitest', 'run', 'kit.test.ts'])), 'the documented scenario and exploration run with vitest from the tarball');
  console.log(`${checks} passed, 0 failed`);
} catch (error) {
  console.error(error.message);
  console.log(`${checks} passed, 1 failed`);
  process.exitCode = 1;
} finally {
  if (keep) console.log(`kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}
