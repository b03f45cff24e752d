import type { Command } from 'commander';
import { loadAgents } from '../agents-option.js';
import { ExitCode } from '../exit-codes.js';
import { defaultOperator } from '../ops/control.js';
import { applyMigration, planMigrations, type AppliedOutcome, type MigrationItem } from '../ops/migrate.js';
import { print, printJson, usingStore, withAgentsFlag, withJsonFlag, withStoreFlag, type AgentFlags, type StoreFlags } from '../session.js';

interface MigrateFlags extends StoreFlags, AgentFlags {
  readonly dryRun?: boolean;
  readonly json?: boolean;
}

const VERDICT: Record<MigrationItem['verdict'], string> = { current: 'current', migrate: 'migrates', refused: 'REFUSED', 'unknown-agent': 'UNKNOWN AGENT' };

/** One run of the plan, in one line. */
function line(item: MigrationItem): string {
  const detail = item.detail.length > 0 ? `: ${item.detail.join('; ')}` : '';
  return `${item.runId}  ${item.agentId}  [${item.stored}]  ${VERDICT[item.verdict]}${detail}`;
}

/** `reins migrate [--dry-run]`: stored runs the loaded definitions would refuse or migrate; without --dry-run, migrate them. */
export function registerMigrate(program: Command): void {
  const cmd = program
    .command('migrate')
    .description('bring stored runs to the loaded agent definitions and this reins release (chart and agent migrations); exits 1 while any run would be refused')
    .option('--dry-run', 'only list the runs that would be refused or migrated, and why; change nothing');
  withJsonFlag(withAgentsFlag(withStoreFlag(cmd))).action(async (flags: MigrateFlags) => {
    const agents = await loadAgents(flags.agents);
    await usingStore(flags, !flags.dryRun, async (store) => {
      const plan = await planMigrations(store, agents);
      const stranded = plan.filter((i) => i.verdict === 'refused' || i.verdict === 'unknown-agent').length;
      if (stranded > 0) process.exitCode = ExitCode.failed;
      if (flags.dryRun) {
        if (flags.json) return printJson(plan);
        const count = (v: MigrationItem['verdict']) => plan.filter((i) => i.verdict === v).length;
        print([...plan.filter((i) => i.verdict !== 'current').map(line), `${plan.length} runs in flight: ${count('current')} current, ${count('migrate')} would migrate, ${stranded} would be refused`]);
        return;
      }
      // One run at a time, each under its own lease: a run a live worker holds is left to it.
      const owner = `reins-migrate:${defaultOperator()}`;
      const applied: Array<{ runId: string; outcome: AppliedOutcome }> = [];
      for (const item of plan.filter((i) => i.verdict === 'migrate')) {
        applied.push({ runId: item.runId, outcome: await applyMigration(store, agents, item.runId, owner) });
      }
      if (flags.json) return printJson({ plan, applied });
      const migrated = applied.filter((a) => a.outcome === 'migrated').length;
      print([
        ...applied.map((a) => `${a.outcome === 'busy' ? 'left alone (a live worker holds it)' : a.outcome}  ${a.runId}`),
        ...plan.filter((i) => i.verdict === 'refused' || i.verdict === 'unknown-agent').map(line),
        `migrated ${migrated} of ${plan.length} runs in flight; ${stranded} refused`,
      ]);
    });
  });
}
