import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliSuite, storelessSuite } from './suite.js';

cliSuite({
  name: 'FileStore',
  create: async () => {
    const dir = await mkdtemp(join(tmpdir(), 'reins-cli-'));
    return { store: dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
  },
});

storelessSuite();
