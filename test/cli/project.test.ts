import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEMPLATES } from '../../cli/init/templates.js';
import { cliEnv, collect, reins, ROOT } from './run-cli.js';

/**
 * A user's project beside the repository: `reins` resolves to this checkout's
 * sources (a package whose entry re-exports them) and zod and tsx are linked
 * in, as `npm install reins zod tsx` would give it, without a registry.
 */
async function userProject(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'reins-project-'));
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'user-project', private: true, type: 'module' }));
  const reinsDir = join(dir, 'node_modules', 'reins');
  await mkdir(reinsDir, { recursive: true });
  await writeFile(join(reinsDir, 'package.json'), JSON.stringify({ name: 'reins', type: 'module', exports: { '.': './index.ts' } }));
  await writeFile(join(reinsDir, 'index.ts'), `export * from ${JSON.stringify(join(ROOT, 'index.ts'))};\n`);
  for (const pkg of ['zod', 'tsx']) await symlink(join(ROOT, 'node_modules', pkg), join(dir, 'node_modules', pkg), 'dir');
  return dir;
}

describe('reins in a user project', () => {
  let project: string;
  beforeAll(async () => {
    project = await userProject();
  });
  afterAll(async () => {
    await rm(project, { recursive: true, force: true });
  });

  it('says where agents come from when the project defines none, in one line, exit 2', async () => {
    for (const command of [['diagram', 'support'], ['worker']]) {
      const result = await reins(command, {}, project);
      expect(result.code, command.join(' ')).toBe(2);
      expect(result.stderr.trim()).toMatch(/^reins: reins (diagram|worker) needs your agents: write reins\.config\.ts exporting `agents` \(reins init scaffolds one\), or pass --agents <module>$/);
    }
  }, 90_000);

  it('init scaffolds an agent, the config, a test and docker-compose.yml, and keeps what exists', async () => {
    const first = await reins(['init'], {}, project);
    expect(first.code).toBe(0);
    for (const t of TEMPLATES) {
      expect(first.stdout).toContain(`created  ${t.path}`);
      expect(await readFile(join(project, t.path), 'utf8')).toBe(t.content);
    }
    expect(first.stdout).toContain('npm run reins -- diagram support');
    expect(first.stdout).not.toContain(project);
    await writeFile(join(project, 'test/support.test.ts'), '// mine\n' + TEMPLATES.find((t) => t.path === 'test/support.test.ts')!.content);
    const again = await reins(['init'], {}, project);
    expect(again.code).toBe(0);
    for (const t of TEMPLATES) expect(again.stdout).toMatch(new RegExp(`kept\\s+${t.path.replace('.', '\\.')}`));
    expect(await readFile(join(project, 'test/support.test.ts'), 'utf8')).toMatch(/^\/\/ mine\n/);
  }, 90_000);

  it("draws the project's own agent from reins.config.ts, never the demo fleet's", async () => {
    const [support, fleetOnly, flag] = await Promise.all([
      reins(['diagram', 'support'], {}, project),
      reins(['diagram', 'research'], {}, project),
      reins(['diagram', 'crawler', '--agents', join(ROOT, 'test/console/agents.ts')], {}, project),
    ]);
    expect(support.stderr).toBe('');
    expect(support.code).toBe(0);
    expect(support.stdout).toContain('stateDiagram-v2');
    expect(support.stdout).toContain('support (version');
    // The config's agents are the only ones: the demo fleet (support, research, coding …) is not loaded beside them.
    expect(fleetOnly.code).toBe(3);
    expect(fleetOnly.stderr).toMatch(/no agent named research \(known: support;/);
    expect(flag.code).toBe(0);
    expect(flag.stdout).toContain('crawler (version');
  }, 90_000);

  it('the scaffolded test passes', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--test', 'test/support.test.ts'], { cwd: project, env: cliEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    const result = await collect(child);
    expect(result.stdout + result.stderr).toMatch(/# pass 1\b/);
    expect(result.code).toBe(0);
  }, 90_000);
});
