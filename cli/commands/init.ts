import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import { TEMPLATES } from '../init/templates.js';
import { reinsCommand } from '../invocation.js';
import { print } from '../session.js';

interface InitFlags {
  readonly force?: boolean;
}

/** Writes `content` to `path` unless it exists (or `force`); says which. */
async function writeNew(path: string, content: string, force: boolean): Promise<'created' | 'kept'> {
  await mkdir(dirname(path), { recursive: true });
  try {
    await writeFile(path, content, { flag: force ? 'w' : 'wx' });
    return 'created';
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return 'kept';
    throw error;
  }
}

/** `reins init [folder]`: scaffolds an agent, reins.config.ts, a test and docker-compose.yml; never overwrites without --force. */
export function registerInit(program: Command): void {
  program
    .command('init')
    .description('scaffold an agent, reins.config.ts, a test and docker-compose.yml in a project (existing files are kept)')
    .argument('[folder]', 'the project folder', '.')
    .option('--force', 'overwrite files that exist')
    .action(async (folder: string, flags: InitFlags) => {
      const lines: string[] = [];
      for (const t of TEMPLATES) {
        const result = await writeNew(join(folder, t.path), t.content, flags.force === true);
        lines.push(`  ${result === 'created' ? 'created' : 'kept   '}  ${join(folder, t.path)}${result === 'kept' ? '  (exists; --force overwrites)' : ''}`);
      }
      const cmd = reinsCommand();
      print([
        'reins init:',
        ...lines,
        '',
        'Next (an ES module project: "type": "module" in package.json):',
        '  npm install reins zod && npm install -D typescript @types/node tsx',
        `  ${cmd} diagram support                        # the agent's machine, from reins.config.ts`,
        '  node --import tsx --test test/support.test.ts   # the scaffolded test',
        '  docker compose up                              # Redis with AOF, two workers, the console (needs ioredis and prom-client)',
      ]);
    });
}
