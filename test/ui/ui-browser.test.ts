/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
import { writeFileSync } from 'node:fs';
import { request } from 'node:http';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFlow, flow, tempProject } from '../helpers/cli.js';
import { chromiumAvailable, launchBrowser, screenshot } from '../helpers/browser.js';
import { startUi } from '../helpers/ui.js';

// Real runs, a real `flow ui` process and a real headless Chromium (Debian's), driven as a
// person would: the pages are looked at through the DOM, and screenshots are left in
// test-output/ui for a person to look at.
const run = chromiumAvailable();

describe.runIf(run)('flow ui in a browser', () => {
  let project = '';
  let ui: Awaited<ReturnType<typeof startUi>>;
  let browser: Awaited<ReturnType<typeof launchBrowser>>;
  let context: BrowserContext;
  let page: Page;
  const pwned = () => page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned ?? 0);

  beforeAll(async () => {
    project = await tempProject({});
    copyFlow(project, 'ui-report.ts');
    copyFlow(project, 'task-throws.ts');
    for (const args of [
      ['--alpha', '0.1'],
      ['--alpha', '0.2', '--tag', 'tuned'],
    ]) {
      const r = await flow(['run', 'flows/ui-report.ts', ...args], { cwd: project });
      expect(r.exitCode, r.stderr).toBe(0);
    }
    expect((await flow(['run', 'flows/task-throws.ts'], { cwd: project })).exitCode).toBe(1);
    const replay = await flow(['replay', 'run-1'], { cwd: project });
    expect(replay.exitCode, replay.stderr).toBe(0);
    ui = await startUi(project);
    browser = await launchBrowser();
    context = browser.context;
    page = await context.newPage();
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await ui?.stop();
  });

  it('says what it serves when started, bound to 127.0.0.1', () => {
    expect(ui.banner).toMatch(/serving the store .*\.flow \(4 runs\), read-only, at http:\/\/127\.0\.0\.1:\d+\//);
  });

  it('lists the runs, filters them by flow and tag through the URL', async () => {
    await page.goto(ui.url);
    await page.waitForSelector('tr[data-run]');
    expect(await page.locator('tr[data-run]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-run')))).toEqual(['run-4', 'run-3', 'run-2', 'run-1']);
    expect(await page.textContent('tr[data-run=run-4] .replay')).toBe('✓ reproduced run-1');
    await screenshot(page, 'runs');
    await page.selectOption('select[name=tag]', 'tuned');
    await page.waitForURL(/\?tag=tuned$/);
    await page.waitForFunction(() => document.querySelectorAll('tr[data-run]').length === 1);
    expect(await page.locator('tr[data-run]').getAttribute('data-run')).toBe('run-2');
    await page.goBack();
    await page.waitForFunction(() => document.querySelectorAll('tr[data-run]').length === 4);
    await page.goto(`${ui.url}?flow=TaskThrowsFlow`);
    await page.waitForSelector('tr[data-run]');
    expect(await page.locator('tr[data-run]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-run')))).toEqual(['run-3']);
  });

  it("draws the DAG with one node per step and each step's status", async () => {
    await page.goto(`${ui.url}runs/run-1`);
    await page.waitForSelector('svg.dag .dag-node');
    const nodes = await page.locator('svg.dag .dag-node').evaluateAll((ns) => ns.map((n) => [n.getAttribute('data-step'), n.getAttribute('data-state')]));
    expect(nodes).toEqual([
      ['start', 'ok'],
      ['train', 'ok'],
      ['join', 'ok'],
      ['report', 'ok'],
      ['end', 'ok'],
    ]);
    expect(await page.locator('svg.dag .edge').count()).toBe(4);
    await page.waitForSelector('.tl-row');
    expect(await page.locator('.tl-row').count()).toBe(7);
    await screenshot(page, 'run');

    await page.goto(`${ui.url}runs/run-3`);
    await page.waitForSelector('svg.dag .dag-node');
    const failed = await page.locator('svg.dag .dag-node').evaluateAll((ns) => Object.fromEntries(ns.map((n) => [n.getAttribute('data-step'), n.getAttribute('data-state')])));
    expect(failed).toEqual({ start: 'ok', work: 'failed', join: 'not run', end: 'not run' });
    await screenshot(page, 'run-failed');
  });

  it('navigates with real links: DAG node → step → task, and back', async () => {
    await page.goto(`${ui.url}runs/run-1`);
    await page.click('svg.dag .dag-node[data-step=train]');
    await page.waitForURL(/\/runs\/run-1\/steps\/train$/);
    await page.click('a[data-task="1"]');
    await page.waitForURL(/\/runs\/run-1\/steps\/train\/tasks\/1$/);
    await page.waitForSelector('.log-stdout pre');
    expect(await page.textContent('.log-stdout pre')).toContain('training forest (split 1)');
    await page.goBack();
    await page.waitForURL(/\/steps\/train$/);
    await page.goBack();
    await page.waitForURL(/\/runs\/run-1$/);
  });

  it("shows a task's log and its artifacts, a table for an array of records", async () => {
    await page.goto(`${ui.url}runs/run-1/steps/join/tasks/0`);
    await page.waitForSelector('[data-artifact-view=leaderboard] table.data');
    expect(await page.textContent('.log-stdout pre')).toContain('best: boosted');
    const head = await page.locator('[data-artifact-view=leaderboard] thead th').allTextContents();
    expect(head).toEqual(['model', 'score', 'rank']);
    const rows = await page.locator('[data-artifact-view=leaderboard] tbody tr').evaluateAll((rs) => rs.map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent)));
    expect(rows).toEqual([
      ['boosted', '0.3', '1'],
      ['forest', '0.2', '2'],
      ['linear', '0.1', '3'],
    ]);
    expect(await page.textContent('pre.code')).toContain('this.leaderboard = inputs.map');
    await screenshot(page, 'task');
  });

  it('shows hostile artifacts as text and images, and none of their script runs', async () => {
    await page.goto(`${ui.url}runs/run-1/steps/report/tasks/0`);
    await page.waitForSelector('[data-artifact-view=hostileSvg] img');
    await page.waitForSelector('[data-artifact-view=hostileRows] table.data');
    expect(await page.textContent('[data-artifact-view=hostileHtml] pre')).toContain('<script>window.__pwned=2</script>');
    expect(await page.textContent('[data-artifact-view=hostileRows] tbody')).toContain('<script>window.__pwned=5</script>');
    await page.waitForFunction(() => [...document.images].every((i) => i.complete));
    const svg = page.locator('[data-artifact-view=hostileSvg] img');
    expect(await svg.evaluate((i: HTMLImageElement) => i.naturalWidth)).toBe(40); // shown, as an image
    expect(await page.locator('[data-artifact-view=chart] img').evaluate((i: HTMLImageElement) => i.naturalWidth)).toBe(2);
    // Opened on its own, the SVG is still refused script by its Content-Security-Policy.
    const raw = await context.newPage();
    await raw.goto(`${ui.url}api/runs/run-1/steps/report/tasks/0/artifacts/hostileSvg/raw`);
    await raw.waitForTimeout(300);
    expect(await raw.evaluate(() => (window as unknown as { __pwned?: number }).__pwned ?? 0)).toBe(0);
    await raw.close();
    await page.waitForTimeout(300);
    expect(await pwned()).toBe(0);
    await screenshot(page, 'task-hostile');
  });

  it('renders a card on its task page, its table and its chart, and flow card exports it as one HTML file', async () => {
    await page.goto(`${ui.url}runs/run-1/steps/join/tasks/0`);
    const card = page.frameLocator('.card-frame iframe');
    await card.locator('section.table tbody tr').first().waitFor();
    expect(await card.locator('section.table tbody tr').evaluateAll((rs) => rs.map((r) => r.firstElementChild!.textContent))).toEqual(['boosted', 'forest', 'linear']);
    const chart = card.locator('section.chart img');
    await page.waitForFunction(() => {
      const f = document.querySelector<HTMLIFrameElement>('.card-frame iframe');
      return [...(f?.contentDocument?.images ?? [])].every((i) => i.complete);
    });
    expect(await chart.evaluate((i: HTMLImageElement) => i.naturalWidth)).toBeGreaterThan(50);
    expect(await card.locator('.part.error').textContent()).toBe('Image: the bytes are not a PNG, JPEG, GIF, WebP or SVG image');
    expect(await card.locator('section.markdown').textContent()).toContain('<script>window.top.__pwned=7</script>');
    await screenshot(page, 'task-card');

    const out = await flow(['card', 'run-1/join', '--out', 'report.html'], { cwd: project });
    expect(out.exitCode, out.stderr).toBe(0);
    expect(out.stderr).toMatch(/Wrote the card of run-1\/join\/0 to .*report\.html/);
    const exported = await context.newPage();
    await exported.goto(`file://${project}/report.html`);
    expect(await exported.locator('section.table tbody tr').count()).toBe(3);
    expect(await exported.locator('section.chart img').evaluate((i: HTMLImageElement) => i.naturalWidth)).toBeGreaterThan(50);
    expect(await exported.evaluate(() => document.scripts.length)).toBe(0);
    await screenshot(exported, 'card-exported');
    await exported.close();
    expect(await pwned()).toBe(0);
  });

  it('keeps a task ok when a part of its card fails, with the error on the card', async () => {
    await page.goto(`${ui.url}runs/run-1/steps/report/tasks/0`);
    const card = page.frameLocator('.card-frame iframe');
    await card.locator('.part.error').waitFor();
    expect(await card.locator('.part.error').textContent()).toBe('Table: getter exploded');
    expect(await page.locator('h1 .status').textContent()).toBe('ok');
    await card.locator('section.artifact img').waitFor();
    await page.waitForTimeout(300);
    expect(await pwned()).toBe(0);
  });

  it('names the changed param on the diff page, side by side', async () => {
    await page.goto(`${ui.url}diff/run-1/run-2`);
    await page.waitForSelector('tr.param-change');
    const param = await page.locator('tr.param-change').evaluateAll((rs) => rs.map((r) => [...r.children].map((c) => c.textContent)));
    expect(param).toEqual([['alpha', '0.1', '0.2']]);
    expect(await page.textContent('.verdict')).toContain('run-1 and run-2 differ in params');
    await screenshot(page, 'diff');
  });

  it("shows a replay's report and the run's code package", async () => {
    await page.goto(`${ui.url}runs/run-4/replay`);
    await page.waitForSelector('.verdict');
    expect(await page.textContent('.verdict')).toMatch(/^✓ reproduced run-1 bit for bit: \d+ of \d+ artifacts match$/);
    await page.goto(`${ui.url}runs/run-1/code`);
    await page.waitForSelector('.file-list li');
    expect(await page.locator('.file-list li a').allTextContents()).toContain('flows/ui-report.ts');
    await page.waitForSelector('pre.code');
    expect(await page.textContent('pre.code')).toContain('export default class UiReportFlow');
    await screenshot(page, 'code');
  });

  it("shows a running run live: its running step, and its task's output as it comes", async () => {
    copyFlow(project, 'ui-slow.ts');
    const release = `${project}/release`;
    const running = flow(['run', 'flows/ui-slow.ts'], { cwd: project, env: { SLOW_RELEASE: release } });
    await page.goto(ui.url);
    await page.waitForSelector('tr[data-run=run-5] .status-running', { timeout: 30_000 });
    await page.click('tr[data-run=run-5] a[href="/runs/run-5"]');
    await page.waitForSelector('svg.dag .dag-node[data-step=start][data-state=running]', { timeout: 20_000 });
    expect(await page.getAttribute('svg.dag .dag-node[data-step=end]', 'data-state')).toBe('pending');
    await page.goto(`${ui.url}runs/run-5/steps/start/tasks/0`);
    await page.waitForFunction(() => document.querySelector('.logs.live .log-stdout pre')?.textContent?.includes('tick before the wait'), undefined, { timeout: 20_000 });
    await screenshot(page, 'task-live');
    writeFileSync(release, '');
    expect((await running).exitCode).toBe(0);
    // The page sees the task's record once it is written, and shows the stored log.
    await page.waitForFunction(() => document.querySelector('.log-stdout pre')?.textContent?.includes('released'), undefined, { timeout: 20_000 });
    await page.goto(`${ui.url}runs/run-5`);
    await page.waitForSelector('svg.dag .dag-node[data-step=end][data-state=ok]');
  });

  it('refuses requests for another host (DNS rebinding), from another origin, and any write', async () => {
    const status = (method: string, headers: Record<string, string>) =>
      new Promise<number>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port: ui.port, path: '/api/runs', method, headers }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end();
      });
    expect(await status('GET', {})).toBe(200);
    expect(await status('GET', { Host: `evil.example:${ui.port}` })).toBe(403);
    expect(await status('GET', { Origin: 'http://evil.example' })).toBe(403);
    expect(await status('GET', { 'Sec-Fetch-Site': 'cross-site', 'Sec-Fetch-Mode': 'cors' })).toBe(403);
    expect(await status('POST', {})).toBe(405);
    expect(await status('DELETE', {})).toBe(405);
    const res = await page.goto(ui.url);
    expect(res!.headers()['content-security-policy']).toContain("script-src 'self'");
  });
});
