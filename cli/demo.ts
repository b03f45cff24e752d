/**
 * `npm run demo`: the same as `reins demo` (see cli/commands/demo.ts); flags
 * pass through, e.g. `npm run demo -- --hold`.
 */
import { runCli } from './program.js';

const code = await runCli(['demo', ...process.argv.slice(2)]);
process.exit(code);
