import type { Command } from 'commander';
import { evidenceOf } from '../render.js';
import { control, defaultOperator, untilSettled, type ControlCommand, type ControlResult } from '../ops/control.js';
import { runOfItem } from '../ops/approvals.js';
import { print, usingStore, usingSupervisor, withAgentsFlag, withStoreFlag, type AgentFlags, type StoreFlags } from '../session.js';

interface ControlFlags extends StoreFlags, AgentFlags {
  readonly by?: string;
  readonly why?: string;
  readonly feedback?: string;
}

const PAST: Record<ControlCommand, string> = { pause: 'paused', resume: 'resumed', kill: 'killed', approve: 'approved', reject: 'rejected' };

/** What happened, in one line (or two, when this process now hosts the run). */
function report(result: ControlResult): string {
  const r = result.run;
  const where = r ? (r.status === 'done' ? `ended ${r.reason}` : `${r.status}, state ${r.state}`) : 'gone';
  switch (result.effect) {
    case 'applied':
      return `${PAST[result.command]} ${result.runId} (${where})`;
    case 'requested':
      return `${result.command} sent to ${result.runId}: its owner applies it once the in-flight call settles (now ${where})`;
    case 'hosted-here':
      return `${PAST[result.command]} ${result.runId}; nobody else hosted it, so it runs here until it ends or waits again (Ctrl-C hands it back)`;
  }
}

/** Issues one command, and hosts the run here until it settles when this process had to take it over. */
async function issue(command: ControlCommand, target: string, flags: ControlFlags): Promise<void> {
  await usingStore(flags, true, (store) =>
    usingSupervisor(store, flags, async (supervisor) => {
      const result = await control(supervisor, { command, runId: target, by: flags.by ?? defaultOperator(), why: command === 'reject' ? flags.feedback ?? 'Rejected by an operator.' : flags.why ?? '' });
      print(report(result));
      if (!result.hosted) return;
      const run = result.hosted;
      const interrupted = new Promise<'interrupted'>((resolve) => process.once('SIGINT', () => resolve('interrupted')));
      const settled = await Promise.race([untilSettled(run), interrupted]);
      if (settled === 'done') {
        const outcome = await run.outcome;
        print(`${run.runId} ended ${outcome.reason}: ${evidenceOf(outcome)}`);
      } else if (settled === 'interrupted') {
        print(`stopped hosting ${run.runId}; it stays in the store (a worker picks it up: reins worker)`);
      } else {
        print(`${run.runId} is ${settled} again; it waits in the store`);
      }
    }),
  );
}

const byOption = (cmd: Command) => cmd.option('--by <who>', 'who you are, recorded with the command (default REINS_OPERATOR, else user@host)');

/** `reins pause | resume | kill <run>`, `reins approve | reject <item>`. */
export function registerControl(program: Command): void {
  const commands: Array<{ name: ControlCommand; description: string; argument: string; extra?: (cmd: Command) => Command }> = [
    { name: 'pause', description: 'pause a run (it pauses once its in-flight call settles; at once when waiting)', argument: '<run>', extra: (c) => c.option('--why <text>', 'why, recorded with the pause') },
    { name: 'resume', description: 'resume a paused run where it was', argument: '<run>' },
    { name: 'kill', description: 'end a run USER_KILLED, aborting its in-flight call', argument: '<run>', extra: (c) => c.option('--why <text>', 'why, recorded in the outcome') },
    { name: 'approve', description: 'approve the call an approval item waits on (see reins approvals)', argument: '<item>' },
    { name: 'reject', description: 'reject the call an approval item waits on; the model re-plans with the feedback', argument: '<item>', extra: (c) => c.option('--feedback <text>', 'what the model is told') },
  ];
  for (const spec of commands) {
    let cmd = program.command(spec.name).description(spec.description).argument(spec.argument, spec.argument === '<run>' ? 'run id' : 'approval item id (reins approvals)');
    cmd = byOption(spec.extra ? spec.extra(cmd) : cmd);
    withAgentsFlag(withStoreFlag(cmd)).action(async (target: string, flags: ControlFlags) => {
      await issue(spec.name, spec.argument === '<item>' ? runOfItem(target) : target, flags);
    });
  }
}
