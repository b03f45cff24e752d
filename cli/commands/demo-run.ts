/**
 * `reins demo`, the work (demo.ts declares the command): the example fleet (support, research and coding agents, every
 * one scripted) as durable runs on a Supervisor over the store, with a live
 * table on a terminal (one line per state change in a pipe), then the
 * distribution of terminal reasons. `--hold` leaves the operator-controlled
 * runs to a human at a second terminal.
 */
import { extname, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AgentRun } from '../../agents/agent-run.js';
import { createLogger } from '../../agents/logger.js';
import type { RunStatus } from '../../agents/status.js';
import { Supervisor } from '../../agents/supervisor.js';
import { agents, demoPrefix, FLEET, runFleet, type FleetOptions, type HeldRun, type OperatorAction } from '../../examples/fleet/index.js';
import { CliError, ExitCode } from '../exit-codes.js';
import { changeLine, distributionReport, liveFrame, operatorLine, operatorLogLine, paint, type LiveRow } from '../render.js';
import { describeStore, openStore, storeArgument, storeSpec } from '../store-option.js';
import { reinsCommand } from '../invocation.js';
import { otlpTracing } from '../tracing.js';
import { print, type StoreFlags } from '../session.js';

const REDRAW_MS = 100;

/** The demo fleet's module, relative to the working folder, for a worker that must host the demo's runs (`--agents`). */
function fleetModule(): string {
  const path = relative(process.cwd(), fileURLToPath(new URL(`../../examples/fleet/index${extname(fileURLToPath(import.meta.url))}`, import.meta.url)));
  return path.startsWith('.') ? path : `./${path}`;
}
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

/** One plain line per state change and per operator command, for logs read top to bottom; `onLine` hears of each. */
function changeLog(startedAt: number, onInterrupt: () => void, onLine: () => void): Display {
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
        onLine();
        print(changeLine(elapsed(), status));
      };
      printChange(run.status());
      run.onStatus(printChange);
    },
    onOperatorAction: (action: OperatorAction) => {
      onLine();
      print(operatorLogLine(elapsed(), action));
    },
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
  return `${reinsCommand()} ${held.waitingFor} ${held.runId}${feedback}${storeArg}`;
}

/** How long the change log must have printed nothing before the held runs' commands are printed again. */
const QUIET_MS = 2_000;

/**
 * The hints for held runs, repeated in a change log once the fleet goes quiet
 * (everything else ended or waits), so that they are the last thing on the
 * screen rather than scrolled away under the progress lines. On a terminal the
 * live table keeps them in view, so `repeat` is then a no-op.
 */
function holdHints(storeArg: string, display: Display, repeatWhenQuiet: boolean, stillWaiting: (runId: string) => boolean) {
  const waiting = new Map<string, HeldRun>();
  let lastLine = Date.now();
  let repeated = true;
  const header = (cmd: string) => ['', 'Waiting for you, from another terminal in this folder:', `  ${cmd} approvals${storeArg}   ·   ${cmd} ps --status paused${storeArg}   ·   ${cmd} show <run>${storeArg}`];
  // The command leads the line: a narrow terminal cuts the note, never the command.
  const line = (held: HeldRun) => `  ${humanCommand(held, storeArg)}      # ${held.note}`;
  const timer = repeatWhenQuiet
    ? setInterval(() => {
        for (const runId of waiting.keys()) if (!stillWaiting(runId)) waiting.delete(runId);
        if (repeated || waiting.size === 0 || Date.now() - lastLine < QUIET_MS) return;
        repeated = true;
        display.note([...header(reinsCommand()), ...[...waiting.values()].map(line)]);
      }, 250)
    : null;
  return {
    held(held: HeldRun) {
      display.note([...(waiting.size === 0 ? header(reinsCommand()) : []), line(held)]);
      waiting.set(held.runId, held);
      repeated = false;
    },
    /** Something was printed: the fleet is not quiet. */
    activity() {
      lastLine = Date.now();
    },
    stop() {
      if (timer) clearInterval(timer);
    },
  };
}

/** Runs the demo fleet on the store the flags name, as `reins demo` describes. */
export async function demo(flags: DemoFlags): Promise<void> {
  const spec = storeSpec(flags.store);
  const tracing = await otlpTracing();
  const store = await openStore(spec, { write: true });
  const supervisor = await Supervisor.open({ store, agents: [...agents], logger: createLogger(), observers: [...tracing.observers] });
  const prefix = flags.prefix ?? demoPrefix();
  const storeArg = storeArgument(spec);
  const tty = process.stdout.isTTY === true;
  const startedAt = Date.now();
  const runs = new Map<string, AgentRun>();
  const runId = (scenarioId: string) => `${prefix}.${scenarioId}`;
  const rowsOf = () => FLEET.map((s) => ({ runId: runId(s.id), agentId: s.agentId, status: runs.get(runId(s.id))?.status() ?? null }));
  const onInterrupt = () => {
    print(`\ninterrupted: the runs still going stay in ${describeStore(spec)}; \`${reinsCommand()} worker --agents ${fleetModule()}${storeArg}\` picks them up`);
    void supervisor.close({ timeoutMs: 3_000 }).finally(() => process.exit(130));
  };
  let lastLine = () => {};
  const display = tty ? liveTable(rowsOf, startedAt, onInterrupt) : changeLog(startedAt, onInterrupt, () => lastLine());
  if (!tty) print(`reins demo: ${FLEET.length} runs on ${describeStore(spec)}, run ids ${prefix}.*${flags.hold ? ', holding the operator-controlled runs for you' : ''}`);
  // A held run still waits for the human while it is paused or awaiting approval; a human's command moves it on.
  const stillWaiting = (id: string) => ['paused', 'awaiting-approval'].includes(runs.get(id)?.status().status ?? '');
  const hints = holdHints(storeArg, display, !tty, stillWaiting);
  lastLine = () => hints.activity();
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
      onHeld: (held) => hints.held(held),
    });
  } finally {
    hints.stop();
    display.stop();
    await supervisor.close();
    await store.close();
    await tracing.shutdown();
  }
  const report = distributionReport(
    results.map((r) => ({ runId: r.runId, expected: r.scenario.expected, outcome: r.outcome })),
    Date.now() - startedAt,
    flags.seed === undefined ? 'seeds from run ids' : `seed ${flags.seed}`,
    paint(tty && !process.env.NO_COLOR),
  );
  print(['', ...report]);
  const cmd = reinsCommand();
  const example = results.find((r) => r.scenario.control === 'approve')?.runId ?? results[0]?.runId ?? '<run>';
  print([
    '',
    `Stored in ${describeStore(spec)} (run ids ${prefix}.*). Look around:`,
    `  ${cmd} ps${storeArg}`,
    `  ${cmd} show ${example}${storeArg}`,
    `  ${cmd} stats --since 10m${storeArg}`,
    `  ${cmd} console${storeArg}`,
    `  ${cmd} demo --hold${storeArg}      (you play the operator, from a second terminal)`,
  ]);
  if (!results.every((r) => r.asDesigned)) throw new CliError(ExitCode.failed, `${results.filter((r) => !r.asDesigned).length} runs did not end as designed`);
}
