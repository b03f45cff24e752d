import type { Command } from 'commander';
import { DEFAULT_RETENTION, sweepRetention, type GroupRetention, type RetentionPolicy, type RetentionReport } from '../../agents/retention.js';
import { OutcomeGroup } from '../../machines/outcome.js';
import { age, parseShare, parseSpan } from '../duration.js';
import { print, printJson, usingStore, withJsonFlag, withStoreFlag, type StoreFlags } from '../session.js';
import { describeStore } from '../store-option.js';

interface PurgeFlags extends StoreFlags {
  readonly apply?: boolean;
  readonly broken?: number;
  readonly exhausted?: number;
  readonly healthy?: number;
  readonly healthyTraces?: number;
  readonly traceGrace?: number;
  readonly json?: boolean;
}

/** The policy the flags describe: the default with the given spans and shares in place. */
function policyOf(flags: PurgeFlags): RetentionPolicy {
  const rule = (group: OutcomeGroup, keepMs: number | undefined): GroupRetention => ({
    ...DEFAULT_RETENTION[group],
    ...(keepMs !== undefined ? { keepMs } : {}),
    ...(flags.traceGrace !== undefined && DEFAULT_RETENTION[group].traceSample < 1 ? { traceGraceMs: flags.traceGrace } : {}),
  });
  const healthy = rule('healthy', flags.healthy);
  return {
    broken: rule('broken', flags.broken),
    exhausted: rule('exhausted', flags.exhausted),
    healthy: flags.healthyTraces !== undefined ? { ...healthy, traceSample: flags.healthyTraces } : healthy,
  };
}

/** One group's rule in words: `3d, traces of 10% (all for 1h)`. */
function ruleText(rule: GroupRetention): string {
  if (rule.traceSample >= 1) return `${age(rule.keepMs)}, every trace`;
  const share = `${Math.round(rule.traceSample * 1000) / 10}%`;
  return `${age(rule.keepMs)}, traces of ${share}${rule.traceGraceMs > 0 ? ` (all for ${age(rule.traceGraceMs)})` : ''}`;
}

/** The report as a table, one row per group. */
function reportText(report: RetentionReport, policy: RetentionPolicy, where: string): string[] {
  const head = report.dryRun ? `dry run in ${where}: nothing deleted (--apply to delete)` : `purged ${where}`;
  const verb = report.dryRun ? ['would delete', 'would drop'] : ['deleted', 'dropped'];
  const rows = [['group', 'runs', verb[0]!, 'kept', `traces ${verb[1]!}`, 'traces kept', 'rule']];
  for (const group of OutcomeGroup.options) {
    const c = report.groups[group];
    rows.push([group, c.runs, c.runsDeleted, c.runsKept, c.tracesDropped, c.tracesKept, ruleText(policy[group])].map(String));
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const table = rows.map((r) => r.map((cell, i) => (i === 0 || i === r.length - 1 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ').trimEnd());
  return [head, ...table, `quarantined ${report.quarantined} (never purged), live ${report.live} (running or paused, or in a tree with such a run: untouched)`];
}

/** `reins purge`: retention by outcome, a dry run unless --apply. */
export function registerPurge(program: Command): void {
  const cmd = program
    .command('purge')
    .description('delete old runs and drop traces by outcome group (broken 30d, exhausted 14d, healthy 3d with 10% of traces); a dry run unless --apply')
    .option('--apply', 'delete (without it, only count what would go)')
    .option('--broken <span>', 'keep broken runs this long (default 30d)', (v) => parseSpan(v))
    .option('--exhausted <span>', 'keep exhausted runs this long (default 14d)', (v) => parseSpan(v))
    .option('--healthy <span>', 'keep healthy runs this long (default 3d)', (v) => parseSpan(v))
    .option('--healthy-traces <share>', 'share of healthy run trees that keep their traces, 0 to 1 or a percentage (default 0.1)', (v) => parseShare(v))
    .option('--trace-grace <span>', 'how long a sampled-out run keeps its trace after it ended (default 1h)', (v) => parseSpan(v));
  withJsonFlag(withStoreFlag(cmd)).action(async (flags: PurgeFlags) => {
    const policy = policyOf(flags);
    await usingStore(flags, flags.apply === true, async (store, spec) => {
      const report = await sweepRetention(store, { policy, dryRun: flags.apply !== true });
      if (flags.json) printJson({ ...report, policy });
      else print(reportText(report, policy, describeStore(spec)));
    });
  });
}
