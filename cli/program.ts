import { Command, CommanderError } from 'commander';
import { registerApprovals } from './commands/approvals.js';
import { registerConsole } from './commands/console.js';
import { registerControl } from './commands/control.js';
import { registerDemo } from './commands/demo.js';
import { registerDiagram } from './commands/diagram.js';
import { registerInit } from './commands/init.js';
import { registerMigrate } from './commands/migrate.js';
import { registerPs } from './commands/ps.js';
import { registerRecord } from './commands/record.js';
import { registerPurge } from './commands/purge.js';
import { registerShow } from './commands/show.js';
import { registerStats } from './commands/stats.js';
import { registerSubmit } from './commands/submit.js';
import { registerWorker } from './commands/worker.js';
import { registerWorkers } from './commands/workers.js';
import { describeFailure, EXIT_CODES_HELP, ExitCode, oneLine } from './exit-codes.js';

const ENVIRONMENT_HELP = `Environment:
  REDIS_URL             the store when --store is not given (else the FileStore folder ./.reins)
  REINS_REDIS_PREFIX    Redis key prefix (or ?prefix=… on the URL)
  REINS_AGENTS          module exporting \`agents\` (default: ./reins.config.ts or .js)
  REINS_OPERATOR        who you are in pause / kill / approve records (default user@host)
  REINS_CONSOLE_TOKEN   the console's token (default: random per start)
  REINS_LOG_LEVEL       pino log level of the runtime (default silent)`;

/** The `reins` command line. */
export function buildProgram(): Command {
  const program = new Command('reins')
    .description('Operate reins agent runs: list, inspect, pause, resume, kill, approve; fleet statistics; the web console.')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      // Commander's own errors become one line, printed by main with the exit code.
      outputError: () => undefined,
    })
    .addHelpText('after', `\n${ENVIRONMENT_HELP}\n\n${EXIT_CODES_HELP}\n`);
  registerInit(program);
  registerDemo(program);
  registerPs(program);
  registerShow(program);
  registerRecord(program);
  registerControl(program);
  registerApprovals(program);
  registerStats(program);
  registerPurge(program);
  registerConsole(program);
  registerDiagram(program);
  registerSubmit(program);
  registerWorker(program);
  registerWorkers(program);
  registerMigrate(program);
  return program;
}

/** Runs `reins` with `argv` (without node and script); returns the exit code, having printed any failure as one line on stderr. */
export async function runCli(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  if (argv.length === 0) {
    program.outputHelp();
    return ExitCode.usage;
  }
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : ExitCode.ok;
  } catch (error) {
    if (error instanceof CommanderError && error.exitCode === 0) return ExitCode.ok;
    const { exitCode, message } = describeFailure(error);
    const hint = error instanceof CommanderError ? ` (see reins ${commandOf(argv)}--help)` : '';
    process.stderr.write(`reins: ${oneLine(message)}${hint}\n`);
    if (process.env.REINS_DEBUG && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
    return exitCode;
  }
}

/** The subcommand named in argv, for the help hint: `ps ` or ''. */
function commandOf(argv: readonly string[]): string {
  const first = argv.find((a) => !a.startsWith('-'));
  return first && buildProgram().commands.some((c) => c.name() === first) ? `${first} ` : '';
}
