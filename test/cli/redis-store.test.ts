import { inject } from 'vitest';
import { cliSuite } from './suite.js';

cliSuite({
  name: 'RedisStore',
  create: async () => {
    // A fresh key prefix: this file's runs never meet another test's on the shared private redis-server.
    const prefix = `cli-${process.pid}-${Date.now().toString(36)}`;
    const url = new URL(inject('redisUrl'));
    url.searchParams.set('prefix', prefix);
    return { store: url.toString(), cleanup: async () => undefined };
  },
});
