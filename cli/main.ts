#!/usr/bin/env node
/** The `reins` command: see `reins --help`. Exits with the codes listed there; never prints a stack trace (REINS_DEBUG=1 does). */
import { runCli } from './program.js';

const code = await runCli(process.argv.slice(2));
// Long-lived commands (console, worker, a held demo) return once they are done; anything left open must not keep the process up.
process.exit(code);
