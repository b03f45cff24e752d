/**
 * `reins demo`, the work (demo.ts declares the command): the example fleet (support, research and coding agents, every
 * one scripted) as durable runs on a Supervisor over the store, with a live
 * table on a terminal (one line per state change in a pipe), then the
 * distribution of terminal reasons. `--hold` leaves the operator-controlled
 * runs to a human at a second terminal.
 */
import type { AgentRun } from '../../agents/agent-run.js';
import { createLogger } from '../../agents/logger.js';
import type { RunStatus } from '../../agents/status.js';
import { Supervisor } from '../../agents/supervisor.js';
import { agents, demoPrefix, FLEET, runFleet, type FleetOptions, type HeldRun, type OperatorAction } from '../../examples/fleet/index.js';
import { CliError, ExitCode } from '../exit-codes.js';
import { changeLine, distributionReport, liveFrame, operatorLine, operatorLogLine, paint, type LiveRow } from '../render.js';
import { describeStore, openStore, storeArgument, storeSpec } from '../store-option.js';
import { print, type StoreFlags } from '../session.js';

const REDRAW_MS = 100;
/** Operator commands kept under the live table. */
const OPERATOR_LINES = 5;

/** The flags of `reins demo` (see demo.ts). */
export interface DemoFlags extends StoreFlags {
  readonly seed?: number;
  readonly hold?: boolean;
  readonly concurrency?: number;
  readonly prefix?: string;
}

/** How the demo shows a running fleet: hooks for runFleet, notes for held runs, and a `stop` called once every run has ended. */
type Display = Pick<FleetOptions, 'onStart' | 'onOperatorAction'> & { note(lines: readonly string[]): void; stop(): void };

/** A table redrawn in place: the cursor goes back up over the last frame, which is cleared and rewritten. */
function liveTable(rowsOf: () => LiveRow[], startedAt: number, onInterrupt: () => void): Display {
  const out = process.stdout;
  const p = paint(!process.env.NO_COLOR);
  const actions: string[] = [];
  const notes: string[] = [];
  let drawn = 0;
  const draw = () => {
    const frame = liveFrame(rowsOf(), actions.slice(-OPERATOR_LINES), Date.now() - startedAt, { columns: out.columns || 120, rows: out.rows || 50 }, p, notes);
    out.write(`${drawn > 0 ? `\x1b[${drawn}F` : ''}\x1b[J${frame.join('\n')}\n`);
    drawn = frame.length;
  };
  const showCursor = () => out.write('\x1b[?25h');
  const interrupt = () => {
    showCursor();
    onInterrupt();
  };
  out.write('\x1b[?25l');
  process.once('SIGINT', interrupt);
  const timer = setInterval(draw, REDRAW_MS);
  draw();
  return {
    onStart() {},
    onOperatorAction(action) {
      actions.push(`${((Date.now() - startedAt) / 1000).toFixed(2)}s ${operatorLine(action)}`);
    },
    note(lines) {
      notes.push(...lines);
    },
    stop() {
      clearInterval(timer);
      draw();
      showCursor();
      process.removeListener('SIGINT', interrupt);
    },
  };
}

/** One plain line per state change and per operator command, for logs read top to bottom. */
function changeLog(startedAt: number, onInterrupt: () => void): Display {
  const elapsed = () => Date.now() - startedAt;
  process.once('SIGINT', onInterrupt);
  return {
    onStart(run) {
      let last = '';
      const printChange = (status: RunStatus) => {
        // onStatus fires on every snapshot; only a change of what the line shows is worth a line.
        const key = `${status.state}|${status.status}|${status.activeTool}|${status.pauseRequested}`;
        if (key === last) return;
        last = key;
        print(changeLine(elapsed(), status));
      };
      printChange(run.status());
      run.onStatus(printChange);
    },
    onOperatorAction: (action: OperatorAction) => print(operatorLogLine(elapsed(), action)),
    note: (lines) => print(lines),
    stop() {
      process.removeListener('SIGINT', onInterrupt);
    },
  };
}

/** What the printed reject command tells the model: short enough to keep the command on one line. */
const HUMAN_FEEDBACK = 'Over $100 needs a photo; refund $100 now.';

/** The command a human types for a held run. */
function humanCommand(held: HeldRun, storeArg: string): string {
  const feedback = held.waitingFor === 'reject' ? ` --feedback '${HUMAN_FEEDBACK}'` : '';
  return `reins ${held.waitingFor} ${held.runId}${feedback}${storeArg}`;
}

/** Runs the demo fleet on the store the flags name, as `reins demo` describes. */
export async function demo(flags: DemoFlags): Promise<void> {
  const spec = storeSpec(flags.store);
  const store = await openStore(spec, { write: true });
  const supervisor = await Supervisor.open({ store, agents: [...agents], logger: createLogger() });
  const prefix = flags.prefix ?? demoPrefix();
  const storeArg = storeArgument(spec);
  const tty = process.stdout.isTTY === true;
  const startedAt = Date.now();
  const runs = new Map<string, AgentRun>();
  const runId = (scenarioId: string) => `${prefix}.${scenarioId}`;
  const rowsOf = () => FLEET.map((s) => ({ runId: runId(s.id), agentId: s.agentId, status: runs.get(runId(s.id))?.status() ?? null }));
  const onInterrupt = () => {
    print(`\ninterrupted: the runs still going stay in ${describeStore(spec)}; \`reins worker${storeArg}\` picks them up`);
    void supervisor.close({ timeoutMs: 3_000 }).finally(() => process.exit(130));
  };
  const display = tty ? liveTable(rowsOf, startedAt, onInterrupt) : changeLog(startedAt, onInterrupt);
  if (!tty) print(`reins demo: ${FLEET.length} runs on ${describeStore(spec)}, run ids ${prefix}.*${flags.hold ? ', holding the operator-controlled runs for you' : ''}`);
  let heldCount = 0;
  const onHeld = (held: HeldRun) => {
    // The command leads the line: a narrow terminal cuts the note, never the command.
    const lines =
      heldCount++ === 0
        ? ['', 'Waiting for you, from another terminal in this folder:', `  reins approvals${storeArg}   ·   reins ps --status paused${storeArg}   ·   reins show <run>${storeArg}`]
        : [];
    lines.push(`  ${humanCommand(held, storeArg)}      # ${held.note}`);
    display.note(lines);
  };
  let results;
  try {
    results = await runFleet({
      supervisor,
      prefix,
      hold: flags.hold === true,
      ...(flags.seed === undefined ? {} : { seed: flags.seed }),
      ...(flags.concurrency === undefined ? {} : { concurrency: flags.concurrency }),
      onStart: (run, scenario) => {
        runs.set(run.runId, run);
        display.onStart?.(run, scenario);
      },
      ...(display.onOperatorAction ? { onOperatorAction: display.onOperatorAction } : {}),
      onHeld,
    });
  } finally {
    display.stop();
    await supervisor.close();
    await store.close();
  }
  const report = distributionReport(
    results.map((r) => ({ runId: r.runId, expected: r.scenario.expected, outcome: r.outcome })),
    Date.now() - startedAt,
    flags.seed === undefined ? 'seeds from run ids' : `seed ${flags.seed}`,
    paint(tty && !process.env.NO_COLOR),
  );
  print(['', ...report]);
  const example = results.find((r) => r.scenario.control === 'approve')?.runId ?? results[0]?.runId ?? '<run>';
  print([
    '',
    `Stored in ${describeStore(spec)} (run ids ${prefix}.*). Look around:`,
    `  reins ps${storeArg}`,
    `  reins show ${example}${storeArg}`,
    `  reins stats --since 10m${storeArg}`,
    `  reins console${storeArg}`,
    `  reins demo --hold${storeArg}      (you play the operator, from a second terminal)`,
  ]);
  if (!results.every((r) => r.asDesigned)) throw new CliError(ExitCode.failed, `${results.filter((r) => !r.asDesigned).length} runs did not end as designed`);
}
