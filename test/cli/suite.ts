import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FLEET } from '../../examples/fleet/index.js';
import { TERMINAL_REASONS } from '../../machines/outcome.js';
import { closedPort, collect, HINT, reins, ROOT, spawnReins, waitForOutput, type CliResult } from './run-cli.js';

/** A store the CLI tests run against: the `--store` value, and how to clean up after. */
export interface CliStoreCase {
  readonly name: string;
  readonly create: () => Promise<{ store: string; cleanup: () => Promise<void> }>;
}

const REASONS = new Set<string>(TERMINAL_REASONS);

/** stderr of a failed command: exactly one line, no stack frames. */
function expectOneLine(result: CliResult, pattern: RegExp): void {
  const lines = result.stderr.trimEnd().split('\n');
  expect(lines, result.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^reins: /);
  expect(lines[0]).toMatch(pattern);
  expect(result.stderr).not.toMatch(/\n\s+at /);
}

/** The `reins` command end to end, as child processes on one store. */
export function cliSuite(storeCase: CliStoreCase): void {
  describe(`reins on ${storeCase.name}`, () => {
    let store: string;
    let cleanup: () => Promise<void>;
    beforeAll(async () => {
      ({ store, cleanup } = await storeCase.create());
    });
    afterAll(async () => {
      await cleanup();
    });

    describe('after a demo', () => {
      let demo: CliResult;
      beforeAll(async () => {
        demo = await reins(['demo', '--store', store, '--prefix', 'auto']);
      }, 90_000);

      it('runs the fleet to the designed reasons and exits 0', () => {
        expect(demo.stderr).toBe('');
        expect(demo.code).toBe(0);
        expect(demo.stdout).toContain(`✓ all ${FLEET.length} runs ended with the reason they were designed for`);
      });

      it('stats --json counts per terminal reason that add up to the runs started', async () => {
        const result = await reins(['stats', '--json', '--store', store]);
        expect(result.code).toBe(0);
        const stats = JSON.parse(result.stdout) as { runs: number; active: number; quarantined: number; byReason: Record<string, { count: number }> };
        expect(stats.runs).toBe(FLEET.length);
        expect(Object.keys(stats.byReason).sort()).toEqual([...REASONS].sort());
        const counted = Object.values(stats.byReason).reduce((n, r) => n + r.count, 0);
        expect(counted + stats.active + stats.quarantined).toBe(stats.runs);
        expect(counted).toBe(FLEET.length);
        for (const reason of REASONS) expect(stats.byReason[reason]!.count, reason).toBeGreaterThan(0);
        const text = await reins(['stats', '--store', store, '--since', '1h', '--agent', 'support']);
        expect(text.code).toBe(0);
        expect(text.stdout).toContain('Per agent');
      });

      it('ps --json lists every run with its state, budgets and reason; filters by status, agent and reason', async () => {
        const all = await reins(['ps', '--json', '--all', '--store', store]);
        expect(all.code).toBe(0);
        const runs = JSON.parse(all.stdout) as Array<Record<string, unknown>>;
        expect(runs).toHaveLength(FLEET.length);
        for (const run of runs) {
          expect(run).toMatchObject({ status: 'done', owner: null });
          expect(typeof run.runId).toBe('string');
          expect(REASONS.has(run.reason as string)).toBe(true);
          expect(Array.isArray(run.budgets)).toBe(true);
        }
        const [byReason, byAgent, table] = await Promise.all([
          reins(['ps', '--json', '--reason', 'TIMEOUT', '--store', store]),
          reins(['ps', '--json', '--agent', 'coding', '--limit', '3', '--store', store]),
          reins(['ps', '--store', store, '--limit', '5']),
        ]);
        expect((JSON.parse(byReason.stdout) as Array<{ runId: string }>).map((r) => r.runId)).toEqual(['auto.research-06']);
        expect(JSON.parse(byAgent.stdout)).toHaveLength(3);
        expect(table.stdout.split('\n')[0]).toMatch(/^RUN\s+AGENT\s+STATUS\s+STATE\s+STEP\s+TOOL\s+AGE\s+VERSION\s+BUDGETS\s+OWNER/);
        // Every run's version: the demo agents' versions are computed, stored at this release's chart.
        expect(table.stdout.split('\n')[1]).toMatch(/ auto:[0-9a-f]{8}\/c\d+ /);
        expect(table.stdout).toContain(`${FLEET.length - 5} more`);
      });

      it('ps fits the terminal: narrow widths drop the owner, budgets and tool columns first, never the run', async () => {
        for (const columns of [60, 80, 100]) {
          const result = await reins(['ps', '--store', store, '--all'], { COLUMNS: String(columns) });
          expect(result.code).toBe(0);
          const lines = result.stdout.trimEnd().split('\n');
          expect(lines).toHaveLength(FLEET.length + 1);
          for (const line of lines) expect(line.length, line).toBeLessThanOrEqual(columns);
          expect(lines[0]).toMatch(/^RUN\s+AGENT\s+STATUS\b/);
          expect(lines[0]).not.toContain('OWNER');
          expect(lines.slice(1).every((l) => /^auto\./.test(l))).toBe(true);
        }
        const wide = await reins(['ps', '--store', store, '--all'], { COLUMNS: '400' });
        expect(wide.stdout.split('\n')[0]).toMatch(/BUDGETS\s+OWNER$/);
      });

      it('show prints stored stacks without absolute paths', async () => {
        const [crashed] = JSON.parse((await reins(['ps', '--json', '--reason', 'INTERNAL_ERROR', '--store', store])).stdout) as Array<{ runId: string }>;
        const [text, json] = await Promise.all([reins(['show', crashed!.runId, '--store', store]), reins(['show', crashed!.runId, '--json', '--store', store])]);
        const stack = (JSON.parse(json.stdout) as { outcome: { error: { stack?: string } } }).outcome.error.stack ?? '';
        // The run crashed in this checkout, so its stored stack named files under it: printed, they are relative.
        expect(stack).toMatch(/\n\s+at .*examples\/fleet\//);
        for (const out of [text.stdout, json.stdout]) {
          expect(out).not.toContain(ROOT);
          expect(out).not.toContain('file://');
        }
      });

      it('show --json gives the timeline with latencies, tokens and cost, the outcome and the children', async () => {
        const result = await reins(['show', 'auto.support-02', '--json', '--store', store]);
        expect(result.code).toBe(0);
        const detail = JSON.parse(result.stdout) as { run: { runId: string }; outcome: { reason: string; by?: string }; timeline: Array<Record<string, unknown>>; children: unknown[] };
        expect(detail.run.runId).toBe('auto.support-02');
        expect(detail.outcome.reason).toBe('COMPLETED');
        expect(detail.children).toEqual([]);
        const kinds = new Set(detail.timeline.map((e) => e.kind));
        expect(kinds).toEqual(new Set(['transition', 'model', 'tool']));
        const model = detail.timeline.find((e) => e.kind === 'model')!;
        expect(model).toMatchObject({ latencyMs: expect.any(Number), costUsd: expect.any(Number), usage: { inputTokens: expect.any(Number) } });
        expect(detail.timeline.some((e) => e.kind === 'transition' && e.to === 'awaitingApproval')).toBe(true);
        const text = await reins(['show', 'auto.research-08', '--store', store]);
        expect(text.stdout).toMatch(/USER_KILLED \(broken\)\s+by oncall@demo: "runaway cost"/);
        expect(text.stdout).toContain('Timeline');
      });

      it('approvals --json is an empty list when nothing waits', async () => {
        const result = await reins(['approvals', '--json', '--store', store]);
        expect(result.code).toBe(0);
        expect(JSON.parse(result.stdout)).toEqual([]);
      });

      it('refuses commands on ended runs with a conflict (exit 5)', async () => {
        const result = await reins(['kill', 'auto.coding-01', '--store', store]);
        expect(result.code).toBe(5);
        expectOneLine(result, /already ended \(COMPLETED\)/);
      });
    });

    describe('a held demo operated from a second process', () => {
      let demo: ChildProcess;
      let finished: Promise<CliResult>;
      let held = '';
      let demoOutput = '';
      beforeAll(async () => {
        demo = spawnReins(['demo', '--hold', '--store', store, '--prefix', 'held']);
        demo.stdout!.on('data', (d: Buffer) => (demoOutput += d.toString()));
        finished = collect(demo);
        // Four runs wait for a human: two approvals, the run paused mid-flight, the paused runaway.
        const commands = ['approve held.support-02', 'reject held.support-03', 'resume held.support-09', 'kill held.research-08'].map((c) => `${HINT} ${c}`);
        await waitForOutput(demo, (out) => commands.every((c) => out.includes(c)), 60_000);
        // Once the rest of the fleet has ended, the fleet is quiet and the commands are printed again, last on the screen.
        const blocks = () => demoOutput.split('Waiting for you').length - 1;
        if (blocks() < 2) await waitForOutput(demo, () => blocks() >= 2, 60_000);
        held = demoOutput;
      }, 150_000);
      afterAll(() => {
        if (demo.exitCode === null) demo.kill('SIGKILL');
      });

      it('repeats every held run\'s command, pasteable, once the fleet is quiet', () => {
        const repeat = held.slice(held.lastIndexOf('Waiting for you'));
        for (const c of ['approve held.support-02', 'reject held.support-03', 'resume held.support-09', 'kill held.research-08']) expect(repeat).toContain(`  ${HINT} ${c}`);
        expect(repeat).toContain(`${HINT} approvals --store`);
      });

      it('lists the pending approvals with tool and arguments, and the paused runs with their owner', async () => {
        const items = JSON.parse((await reins(['approvals', '--json', '--store', store])).stdout) as Array<{ itemId: string; tool: string; arguments: { amountUsd: number }; owner: string }>;
        expect(items.map((i) => i.itemId).sort()).toEqual(['held.support-02', 'held.support-03']);
        expect(items.every((i) => i.tool === 'issue_refund' && i.arguments.amountUsd > 100 && i.owner.length > 0)).toBe(true);
        const paused = JSON.parse((await reins(['ps', '--json', '--status', 'paused', '--store', store])).stdout) as Array<{ runId: string; paused: { by: string } }>;
        expect(paused.map((r) => r.runId).sort()).toEqual(['held.research-08', 'held.support-09']);
        expect(paused.every((r) => r.paused.by === 'oncall@demo')).toBe(true);
      });

      it('pauses a waiting run, refuses to approve it while paused, resumes it, then approves it', async () => {
        const pause = await reins(['pause', 'held.support-02', '--why', 'checking the photo', '--store', store]);
        expect(pause.stderr).toBe('');
        expect(pause.code).toBe(0);
        expect(pause.stdout).toMatch(/^paused held\.support-02 \(paused/);
        const blocked = await reins(['approve', 'held.support-02', '--store', store]);
        expect(blocked.code).toBe(5);
        expectOneLine(blocked, /not awaiting approval/);
        const again = await reins(['pause', 'held.support-02', '--store', store]);
        expect(again.code).toBe(5);
        const resume = await reins(['resume', 'held.support-02', '--store', store]);
        expect(resume.code).toBe(0);
        expect(resume.stdout).toMatch(/^resumed held\.support-02 \(awaiting-approval/);
        const approve = await reins(['approve', 'held.support-02', '--store', store]);
        expect(approve.code).toBe(0);
        expect(approve.stdout).toMatch(/^approved held\.support-02/);
      });

      it('rejects with feedback, resumes the paused run, kills the runaway', async () => {
        const reject = await reins(['reject', 'held.support-03', '--feedback', 'photo first; refund $100 now', '--store', store]);
        expect(reject.code).toBe(0);
        const notPaused = await reins(['resume', 'held.support-03', '--store', store]);
        expect(notPaused.code).toBe(5);
        const resume = await reins(['resume', 'held.support-09', '--store', store]);
        expect(resume.code).toBe(0);
        const kill = await reins(['kill', 'held.research-08', '--why', 'runaway crawl', '--store', store]);
        expect(kill.code).toBe(0);
        expect(kill.stdout).toMatch(/^killed held\.research-08 \(ended USER_KILLED\)/);
        const detail = JSON.parse((await reins(['show', 'held.research-08', '--json', '--store', store])).stdout) as { outcome: Record<string, unknown> };
        expect(detail.outcome).toMatchObject({ reason: 'USER_KILLED', by: 'tester@cli', why: 'runaway crawl' });
      });

      it('lets the demo end as designed once the human has acted', async () => {
        const result = await finished;
        expect(result.code).toBe(0);
        expect(result.stdout).toContain('runs ended with the reason they were designed for');
        const stats = JSON.parse((await reins(['stats', '--json', '--store', store])).stdout) as { runs: number; active: number };
        expect(stats).toMatchObject({ runs: 2 * FLEET.length, active: 0 });
      }, 60_000);
    });

    it('says "not found" in one line, exit 3, for an unknown run, item or agent', async () => {
      const cases = [['show', 'no-such-run'], ['pause', 'no-such-run'], ['approve', 'no-such-item']];
      const results = await Promise.all(cases.map((args) => reins([...args, '--store', store])));
      results.forEach((result, i) => {
        expect(result.code, cases[i]!.join(' ')).toBe(3);
        expectOneLine(result, /no-such-(run|item)/);
      });
      const agent = await reins(['diagram', 'nobody']);
      expect(agent.code).toBe(3);
      expectOneLine(agent, /no agent named nobody/);
    });
  });
}

/** Checks that need no store of their own. */
export function storelessSuite(): void {
  describe('reins without a store', () => {
    it('exits 2 with one line on a malformed flag, a bad value or an unknown command', async () => {
      const cases = [['ps', '--bogus'], ['ps', '--status', 'weird'], ['stats', '--since', 'yesterday'], ['ps', '--limit', '0'], ['pss'], ['show']];
      const results = await Promise.all(cases.map((args) => reins(args)));
      results.forEach((result, i) => {
        expect(result.code, cases[i]!.join(' ')).toBe(2);
        expectOneLine(result, /./);
      });
    });

    it('exits 4 with one line when the store is unreachable, without printing credentials', async () => {
      const port = await closedPort();
      const result = await reins(['ps', '--store', `redis://admin:hunter2@127.0.0.1:${port}/0`]);
      expect(result.code).toBe(4);
      expectOneLine(result, new RegExp(`store unreachable: .*127\\.0\\.0\\.1:${port}`));
      expect(result.stderr).not.toContain('hunter2');
      const file = await reins(['ps', '--store', '/dev/null']);
      expect(file.code).toBe(4);
      expectOneLine(file, /not a folder/);
    });

    it('prints the Mermaid diagram of an agent with every final state', async () => {
      const result = await reins(['diagram', 'support']);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain('stateDiagram-v2');
      for (const final of ['completed', 'infeasible', 'escalated', 'budgetExceeded', 'timedOut', 'loopDetected', 'noProgress', 'retryLimitReached', 'toolFailure', 'modelRefused', 'actionInDoubt', 'userKilled', 'internalError']) {
        expect(result.stdout).toContain(`${final} --> [*]`);
      }
      expect(result.stdout).toContain('awaitingApproval --> checking : APPROVE');
    });

    it('documents the exit codes and the store in --help, and --help works on every command', async () => {
      const help = await reins(['--help']);
      expect(help.code).toBe(0);
      expect(help.stdout).toContain('Exit codes:');
      expect(help.stdout).toMatch(/5\s+conflict/);
      const commands = ['init', 'demo', 'ps', 'show', 'record', 'pause', 'resume', 'kill', 'approvals', 'approve', 'reject', 'stats', 'console', 'diagram', 'worker'];
      const results = await Promise.all(commands.map((command) => reins([command, '--help'])));
      results.forEach((result, i) => {
        expect(result.code, commands[i]).toBe(0);
        expect(result.stdout, commands[i]).toMatch(new RegExp(`^Usage: reins ${commands[i]}`));
      });
    }, 180_000);
  });
}
