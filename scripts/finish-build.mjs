// The build's steps after tsc: the Redis Lua scripts beside the compiled store, and one CommonJS stub per entry point
// so that `require('reins…')` loads the ES module where Node can (20.19+, 22.12+) and says why not where it cannot.
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';

cpSync('persistence/redis/lua', 'dist/persistence/redis/lua', { recursive: true });

const { exports } = JSON.parse(readFileSync('package.json', 'utf8'));
mkdirSync('dist/require', { recursive: true });
for (const [subpath, target] of Object.entries(exports)) {
  if (typeof target === 'string' || !target.require) continue;
  const specifier = subpath === '.' ? 'reins' : `reins/${subpath.slice(2)}`;
  const esm = `../${target.import.replace(/^\.\/dist\//, '')}`;
  writeFileSync(
    `dist/${target.require.replace(/^\.\/dist\//, '')}`,
    `'use strict';
// require('${specifier}'): Node loads the ES module itself where it can; elsewhere, say so instead of a bare ERR_REQUIRE_ESM.
if (!process.features.require_module) {
  const error = new Error("${specifier} is an ES module: use import (or await import('${specifier}')); require() of it needs Node 20.19+ or 22.12+ (without --no-experimental-require-module)");
  error.code = 'ERR_REQUIRE_ESM';
  throw error;
}
module.exports = require('${esm}');
`,
  );
}
