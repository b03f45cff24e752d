import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it, onTestFinished } from 'vitest';
import type { AgentRun } from '../../agents/agent-run.js';
import { Supervisor } from '../../agents/supervisor.js';
import { SliceQueue } from '../../agents/fleet/slice-queue.js';
import { FileStore } from '../../persistence/file-store.js';
import { RedisStore } from '../../persistence/redis-store.js';
import { ROOT, spawnReins, waitForOutput } from '../cli/run-cli.js';
import { agents } from './agents.js';

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOT = join(ROOT, 'test-output', 'console.png');

/** The runs the run list shows, top to bottom. */
async function shownRuns(page: Page): Promise<string[]> {
  return page.locator('#runs-body tr.run').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-run')!));
}

/** Sets one of the run list's filters as an operator would. */
async function find(page: Page, filters: { reason?: string; group?: string; agent?: string; text?: string }): Promise<void> {
  await page.selectOption('#f-reason', filters.reason ?? '');
  await page.selectOption('#f-group', filters.group ?? '');
  await page.selectOption('#f-agent', filters.agent ?? '');
  await page.fill('#f-text', filters.text ?? '');
}

/** The step shown in a run's row of the run list. */
async function rowStep(page: Page, runId: string): Promise<number> {
  return Number(await page.locator(`tr[data-run="${runId}"] td:nth-child(5)`).textContent());
}

describe('the console, driven in Chromium as an operator would', () => {
  let dir: string;
  let userDataDir: string;
  let store: FileStore;
  let supervisor: Supervisor;
  let consoleProcess: ReturnType<typeof spawnReins>;
  let url: string;
  let context: BrowserContext;
  let page: Page;
  const runs: Record<string, AgentRun> = {};

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`the console test drives ${CHROMIUM}: apt-get install chromium (.ci/run does)`);
    dir = await mkdtemp(join(tmpdir(), 'reins-console-'));
    userDataDir = await mkdtemp(join(tmpdir(), 'reins-chromium-'));
    // This process is the worker hosting the runs; the console is another process on the same store, as in production.
    store = await FileStore.open(dir);
    supervisor = await Supervisor.open({ store, agents });
    runs.live = await supervisor.start('crawler', { runId: 'live-1', input: 'Index every page of the catalogue.' });
    runs.victim = await supervisor.start('crawler', { runId: 'victim-1', input: 'Crawl the whole archive.' });
    runs.refund = await supervisor.start('refunder', { runId: 'refund-1', input: 'Refund order A-2001 ($480).' });
    consoleProcess = spawnReins(['console', '--store', dir, '--port', '0', '--agents', 'test/console/agents.ts']);
    const out = await waitForOutput(consoleProcess, (o) => /http:\/\/127\.0\.0\.1:\d+\/#token=\S+/.test(o), 30_000);
    url = /http:\/\/127\.0\.0\.1:\d+\/#token=\S+/.exec(out)![0];
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1440, height: 1000 },
    });
    page = context.pages()[0] ?? (await context.newPage());
    await page.goto(url);
  }, 60_000);

  afterAll(async () => {
    await context?.close();
    if (consoleProcess && consoleProcess.exitCode === null) {
      consoleProcess.kill('SIGINT');
      await new Promise((resolve) => consoleProcess.once('exit', resolve));
    }
    for (const run of Object.values(runs)) if (run.status().status !== 'done') run.kill('test', 'cleanup');
    await Promise.all(Object.values(runs).map((r) => r.outcome));
    await supervisor?.close();
    await store?.close();
    await rm(dir, { recursive: true, force: true });
    await rm(userDataDir, { recursive: true, force: true });
  }, 30_000);

  it('takes the token from the URL fragment and keeps it out of the address bar', async () => {
    await expect.poll(() => page.locator('#auth').textContent()).toBe('controls enabled');
    expect(page.url()).not.toContain('token');
    await expect.poll(() => page.locator('#live').textContent()).toBe('live');
  });

  it('shows a live run advance without reloading', async () => {
    await page.locator('tr[data-run="live-1"]').waitFor();
    const first = await rowStep(page, 'live-1');
    await expect.poll(() => rowStep(page, 'live-1'), { timeout: 10_000 }).toBeGreaterThan(first + 2);
    await page.locator('tr[data-run="live-1"]').click();
    await expect.poll(() => page.locator('#detail-status').getAttribute('data-status')).toBe('running');
    await expect.poll(() => page.locator('.sc .node.current').count()).toBeGreaterThan(0);
  });

  it('pauses the run, shows it paused, and it stops advancing', async () => {
    await page.locator('#detail button[data-action="pause"]').click();
    await expect.poll(() => page.locator('#detail-status').getAttribute('data-status'), { timeout: 10_000 }).toBe('paused');
    await expect.poll(() => page.locator('tr[data-run="live-1"]').getAttribute('data-status')).toBe('paused');
    expect(runs.live!.status().status).toBe('paused');
    expect(runs.live!.status().paused?.why).toBe('paused from the console');
    const held = await rowStep(page, 'live-1');
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await rowStep(page, 'live-1')).toBe(held);
  });

  it('resumes it, and it advances again', async () => {
    const held = await rowStep(page, 'live-1');
    await page.locator('#detail button[data-action="resume"]').click();
    await expect.poll(() => page.locator('#detail-status').getAttribute('data-status'), { timeout: 10_000 }).toBe('running');
    await expect.poll(() => rowStep(page, 'live-1'), { timeout: 10_000 }).toBeGreaterThan(held + 1);
  });

  it('kills another run, which ends USER_KILLED', async () => {
    await page.locator('tr[data-run="victim-1"]').click();
    await expect.poll(() => page.locator('#detail h3').textContent()).toBe('victim-1');
    await page.locator('#detail button[data-action="kill"]').click();
    await expect.poll(() => page.locator('#detail-status').textContent(), { timeout: 10_000 }).toBe('USER_KILLED');
    const outcome = await runs.victim!.outcome;
    expect(outcome).toMatchObject({ reason: 'USER_KILLED', why: 'killed from the console' });
  });

  it('approves the pending item, and its run completes', async () => {
    const item = page.locator('.item[data-item="refund-1"]');
    await item.waitFor();
    await expect(item.textContent()).resolves.toContain('issue_refund');
    await item.locator('button[data-action="approve"]').click();
    const outcome = await runs.refund!.outcome;
    expect(outcome.reason).toBe('COMPLETED');
    await expect.poll(() => page.locator('.item[data-item="refund-1"]').count(), { timeout: 10_000 }).toBe(0);
    await expect.poll(() => page.locator('tr[data-run="refund-1"]').getAttribute('data-status')).toBe('done');
  });

  it('filters the run list by reason, group, agent and free text', async () => {
    await expect.poll(() => page.locator('tr[data-run="victim-1"]').getAttribute('data-status')).toBe('done');
    await expect.poll(() => shownRuns(page).then((r) => r.sort())).toEqual(['live-1', 'refund-1', 'victim-1']);
    // The filters stay as a failed expectation left them: cleared whatever happens, for the tests after this one.
    onTestFinished(() => find(page, {}));
    await find(page, { reason: 'USER_KILLED' });
    await expect.poll(() => shownRuns(page)).toEqual(['victim-1']);
    await find(page, { group: 'healthy' });
    await expect.poll(() => shownRuns(page)).toEqual(['refund-1']);
    await find(page, { group: 'broken' });
    await expect.poll(() => shownRuns(page)).toEqual(['victim-1']);
    await find(page, { agent: 'refunder' });
    await expect.poll(() => shownRuns(page)).toEqual(['refund-1']);
    await find(page, { text: 'LIVE' });
    await expect.poll(() => shownRuns(page)).toEqual(['live-1']);
    // Words narrow together, across columns: an agent and part of a run id.
    await find(page, { agent: 'crawler', text: 'crawler vict' });
    await expect.poll(() => shownRuns(page)).toEqual(['victim-1']);
    await find(page, { reason: 'TIMEOUT' });
    await expect.poll(() => page.locator('#runs-body td.empty').textContent()).toBe('no run matches the filters');
    expect(await page.locator('#shown').textContent()).toBe('0 of 3 shown');
    await find(page, {});
    await expect.poll(() => shownRuns(page).then((r) => r.sort())).toEqual(['live-1', 'refund-1', 'victim-1']);
  });

  it('fits every column at 1,400 px: nothing in the budget or owner cells is clipped', async () => {
    await page.setViewportSize({ width: 1_400, height: 1_000 });
    try {
      await expect.poll(() => page.locator('tr[data-run="live-1"] td.owner').textContent()).toMatch(/^[^:]+:\d+$/);
      // Run in the page (the tests compile without the DOM's types): every cell whose content is wider than the cell.
      const overflow = await page.evaluate(`(() => {
        const clipped = [];
        for (const cell of document.querySelectorAll('#runs-body td')) {
          if (cell.scrollWidth > cell.clientWidth) clipped.push(cell.closest('tr').getAttribute('data-run') + ' ' + (cell.className || cell.cellIndex));
        }
        const scroll = document.querySelector('#runs .scroll');
        return { clipped, scrolls: scroll.scrollWidth > scroll.clientWidth };
      })()`);
      expect(overflow).toEqual({ clipped: [], scrolls: false });
      // The budgets of the live run are all there, each with its share.
      expect(await page.locator('tr[data-run="live-1"] td.budgets .bar').count()).toBeGreaterThan(0);
      await mkdir(join(ROOT, 'test-output'), { recursive: true });
      await page.screenshot({ path: join(ROOT, 'test-output', 'console-1400.png') });
    } finally {
      await page.setViewportSize({ width: 1_440, height: 1_000 });
    }
  });

  it('paints the runs from the server: with script off (no event stream), the page already lists them', async () => {
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
    try {
      const plain = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 1_400, height: 1_000 } });
      const first = await plain.newPage();
      await first.goto(new URL(url).origin + '/');
      expect((await shownRuns(first)).sort()).toEqual(['live-1', 'refund-1', 'victim-1']);
      expect(await first.locator('tr[data-run="victim-1"] td:nth-child(3)').textContent()).toBe('USER_KILLED');
      expect(await first.locator('tr[data-run="refund-1"] td:nth-child(3) span').getAttribute('class')).toBe('g-healthy');
      expect(await first.locator('#store').textContent()).toMatch(/^FileStore /);
      expect(await first.locator('#f-agent option').allTextContents()).toEqual(['any agent', 'crawler', 'refunder']);
      await mkdir(join(ROOT, 'test-output'), { recursive: true });
      await first.screenshot({ path: join(ROOT, 'test-output', 'console-first-paint.png') });
    } finally {
      await browser.close();
    }
  });

  it('draws the reason distribution and refuses a mutation without the token (401, nothing changes)', async () => {
    await expect.poll(() => page.locator('#stats-chart .row[data-reason="USER_KILLED"] span').last().textContent()).toMatch(/^1 · /);
    const origin = new URL(url).origin;
    const response = await fetch(`${origin}/api/runs/live-1/pause`, { method: 'POST', body: '{}' });
    expect(response.status).toBe(401);
    const wrong = await fetch(`${origin}/api/runs/live-1/kill`, { method: 'POST', headers: { authorization: 'Bearer not-the-token' } });
    expect(wrong.status).toBe(401);
    await new Promise((r) => setTimeout(r, 300));
    expect(runs.live!.status()).toMatchObject({ status: 'running', pauseRequested: false });
  });

  it('serves Prometheus metrics with the fleet from the store on /metrics', async () => {
    const response = await fetch(`${new URL(url).origin}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/plain');
    const text = await response.text();
    expect(text).toMatch(/reins_runs_by_reason\{[^}]*reason="USER_KILLED"[^}]*\} 1/);
    expect(text).toMatch(/reins_runs\{[^}]*agent="crawler"[^}]*status="running"[^}]*\} 1/);
  });

  it('is read-only in a tab opened without the token', async () => {
    const other = await context.newPage();
    await other.goto(new URL(url).origin + '/');
    await expect.poll(() => other.locator('#auth').textContent()).toBe('read-only (no token)');
    await other.locator('tr[data-run="live-1"]').click();
    await expect.poll(() => other.locator('#detail button[data-action="pause"]').isDisabled()).toBe(true);
    await other.close();
  });

  it('keeps a screenshot of the console under test-output/', async () => {
    await page.locator('tr[data-run="live-1"]').click();
    await expect.poll(() => page.locator('#detail h3').textContent()).toBe('live-1');
    await expect.poll(() => page.locator('.sc .node.current').count()).toBeGreaterThan(0);
    await mkdir(join(ROOT, 'test-output'), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(existsSync(SCREENSHOT)).toBe(true);
  });
});

describe('the console on a fleet (Redis): the queue by state', () => {
  it('shows the slice queue in the first paint, keeps it live, and serves reins_queue_jobs on /metrics', async () => {
    const redisUrl = new URL(inject('redisUrl'));
    const prefix = `console-${process.pid}-${Date.now().toString(36)}`;
    const store = new RedisStore({ url: redisUrl.toString(), prefix });
    const queue = new SliceQueue({ url: redisUrl.toString(), prefix });
    // A dispatcher with no worker yet: submitted runs wait in the queue.
    const dispatcher = await Supervisor.open({ store, agents, queue, workerId: 'dispatcher' });
    redisUrl.searchParams.set('prefix', prefix);
    const child = spawnReins(['console', '--store', redisUrl.toString(), '--port', '0', '--agents', 'test/console/agents.ts']);
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
    try {
      await dispatcher.submit('crawler', { runId: 'queued-1', input: 'Crawl it.' });
      await dispatcher.submit('crawler', { runId: 'queued-2', input: 'Crawl it too.' });
      const out = await waitForOutput(child, (o) => /http:\/\/127\.0\.0\.1:\d+\/#token=\S+/.test(o), 30_000);
      const origin = new URL(/http:\/\/127\.0\.0\.1:\d+\//.exec(out)![0]).origin;
      const tab = await (await browser.newContext({ viewport: { width: 1_400, height: 1_000 } })).newPage();
      await tab.goto(`${origin}/`);
      expect(await tab.locator('#queue').textContent()).toBe('queue: waiting 2 · active 0 · delayed 0 · prioritized 0 · failed 0');
      await dispatcher.submit('crawler', { runId: 'queued-3', input: 'And this.' });
      await expect.poll(() => tab.locator('#queue').textContent(), { timeout: 10_000 }).toBe('queue: waiting 3 · active 0 · delayed 0 · prioritized 0 · failed 0');
      const stats = (await (await fetch(`${origin}/api/stats`)).json()) as { queue: unknown };
      expect(stats.queue).toEqual({ waiting: 3, active: 0, delayed: 0, prioritized: 0, failed: 0 });
      const metrics = await (await fetch(`${origin}/metrics`)).text();
      expect(metrics).toContain('reins_queue_jobs{state="waiting"} 3');
    } finally {
      await browser.close();
      if (child.exitCode === null) {
        child.kill('SIGINT');
        await new Promise((resolve) => child.once('exit', resolve));
      }
      await dispatcher.close();
      await queue.close();
      await store.close();
    }
  }, 60_000);
});
