/**
 * `npm run demo`: runs the example fleet (support, research and coding agents,
 * every one scripted) and prints the distribution of terminal reasons. A
 * terminal gets a live table redrawn every 100 ms; a pipe or CI log gets one
 * plain line per state change. Exits 1 when any run ended with a reason other
 * than the one its scenario was designed for.
 */
import { parseArgs } from 'node:util';
import type { AgentRun } from '../agents/agent-run.js';
import type { RunStatus } from '../agents/status.js';
import { FLEET, runFleet, type FleetOptions, type OperatorAction } from '../examples/fleet/index.js';
import { changeLine, distributionReport, liveFrame, operatorLine, operatorLogLine, paint, type LiveRow } from './render.js';

const REDRAW_MS = 100;
/** Operator commands kept under the live table. */
const OPERATOR_LINES = 5;
const USAGE = `usage: npm run demo -- [--seed N]

  --seed N   reseed every run's retry jitter (default: derived from each run id)`;

/** The flags; exits with the usage on --help or a bad value. */
function parseFlags(argv: string[]): { seed: number | undefined } {
  const { values } = parseArgs({ args: argv, options: { seed: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  if (values.seed === undefined) return { seed: undefined };
  const seed = Number(values.seed);
  if (!Number.isSafeInteger(seed) || seed < 0) {
    console.error(`--seed must be a non-negative integer, got ${values.seed}\n${USAGE}`);
    process.exit(2);
  }
  return { seed };
}

/** How the demo shows a running fleet: hooks for runFleet, and a `stop` called once every run has ended. */
type Display = Pick<FleetOptions, 'onStart' | 'onOperatorAction'> & { stop(): void };

/** A table redrawn in place: the cursor goes back up over the last frame, which is cleared and rewritten. */
function liveTable(startedAt: number): Display {
  const out = process.stdout;
  const p = paint(!process.env.NO_COLOR);
  const runs = new Map<string, AgentRun>();
  const actions: string[] = [];
  let drawn = 0;
  const draw = () => {
    const rows: LiveRow[] = FLEET.map((s) => ({ runId: s.runId, agentId: s.agent.id, status: runs.get(s.runId)?.status() ?? null }));
    const frame = liveFrame(rows, actions.slice(-OPERATOR_LINES), Date.now() - startedAt, { columns: out.columns || 120, rows: out.rows || 50 }, p);
    out.write(`${drawn > 0 ? `\x1b[${drawn}F` : ''}\x1b[J${frame.join('\n')}\n`);
    drawn = frame.length;
  };
  const showCursor = () => out.write('\x1b[?25h');
  const onInterrupt = () => {
    showCursor();
    process.exit(130);
  };
  out.write('\x1b[?25l');
  process.once('SIGINT', onInterrupt);
  const timer = setInterval(draw, REDRAW_MS);
  draw();
  return {
    onStart(run) {
      runs.set(run.runId, run);
    },
    onOperatorAction(action) {
      actions.push(`${((Date.now() - startedAt) / 1000).toFixed(2)}s ${operatorLine(action)}`);
    },
    stop() {
      clearInterval(timer);
      draw();
      showCursor();
      process.removeListener('SIGINT', onInterrupt);
    },
  };
}

/** One plain line per state change and per operator command, for logs read top to bottom. */
function changeLog(startedAt: number): Display {
  const elapsed = () => Date.now() - startedAt;
  return {
    onStart(run) {
      let last = '';
      const print = (status: RunStatus) => {
        // onStatus fires on every snapshot; only a change of what the line shows is worth a line.
        const key = `${status.state}|${status.status}|${status.activeTool}|${status.pauseRequested}`;
        if (key === last) return;
        last = key;
        console.log(changeLine(elapsed(), status));
      };
      print(run.status());
      run.onStatus(print);
    },
    onOperatorAction: (action: OperatorAction) => console.log(operatorLogLine(elapsed(), action)),
    stop() {},
  };
}

async function main(): Promise<void> {
  const { seed } = parseFlags(process.argv.slice(2));
  const tty = process.stdout.isTTY === true;
  const startedAt = Date.now();
  const display = tty ? liveTable(startedAt) : changeLog(startedAt);
  const results = await runFleet({ ...(seed === undefined ? {} : { seed }), onStart: display.onStart, onOperatorAction: display.onOperatorAction });
  display.stop();
  const report = distributionReport(
    results.map((r) => ({ runId: r.scenario.runId, expected: r.scenario.expected, outcome: r.outcome })),
    Date.now() - startedAt,
    seed === undefined ? 'seeds from run ids' : `seed ${seed}`,
    paint(tty && !process.env.NO_COLOR),
  );
  console.log(`\n${report.join('\n')}`);
  process.exitCode = results.every((r) => r.asDesigned) ? 0 : 1;
}

await main();
