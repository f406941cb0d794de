/**
 * The demo page (GET /demo) in a real headless Chromium, over the real pipeline (learner, item and catalogue stages
 * against the real Kafka, registry and Redis) and the real API: load it, pick a learner, mark a resource done and
 * answer a quiz item through the page, and see the list and the knowledge change; the same at a phone's viewport. No
 * console error, no failed request, no page error along the way. Screenshots land in .learnstream/screenshots/.
 * An experiment is configured: the impressions the page posts for the lists it shows and its clicks that quote their
 * recommId are counted, exactly, for the page's learner by the experiment stage (issue 21).
 *
 * Needs Debian's chromium (apt-get install chromium; scripts/test.sh installs it when it can). Without it the suite is
 * skipped and says so. LEARNSTREAM_CHROMIUM names another binary.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Registry } from 'prom-client';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import type { RunningApi } from '../../api/server';
import { assignVariant } from '../../models/experiments/assign';
import type { Experiment } from '../../models/experiments/types';
import type { Pipeline } from '../../pipelines/pipeline';
import { createLogger } from '../../lib/log';
import { bindInstrumentation, createMetrics, serveMetrics, type MetricsServer } from '../../lib/metrics';
import { testConfig, testRegistry, waitFor } from '../helpers';
import { createHarness, type PipelineHarness } from '../pipeline-support/harness';
import { interaction, profile, resource } from '../pipeline-support/events';
import { startTestApi, type TestApi } from '../pipeline-support/api';

jest.setTimeout(180_000);

const CHROMIUM = process.env.LEARNSTREAM_CHROMIUM ?? '/usr/bin/chromium';
const haveBrowser = fs.existsSync(CHROMIUM);
if (!haveBrowser) {
  process.stdout.write(
    `demo-page.test.ts SKIPPED: no Chromium at ${CHROMIUM}. Install it with 'apt-get install -y chromium' (or set LEARNSTREAM_CHROMIUM).\n`,
  );
}
const SCREENSHOTS = path.join(__dirname, '..', '..', '.learnstream', 'screenshots');

const TOPICS = ['algebra', 'geometry', 'statistics', 'history'];
const TYPES = ['video', 'article', 'quiz', 'exercise'] as const;
const LEARNERS = ['demo-learner-1', 'demo-learner-2', 'demo-learner-3'];
const EXP = {
  id: 'demo-exp',
  description: '',
  active: true,
  variants: [
    { name: 'control', weight: 1 },
    { name: 'no-mmr', weight: 1, ranking: { mmrLambda: 1 } },
  ],
} satisfies Experiment;

/** The impressions a page posted for `userId`: per recommId, the distinct resources it showed (what the tally counts). */
function impressionsPosted(page: Page, userId: string): Map<string, Set<string>> {
  const shown = new Map<string, Set<string>>();
  page.on('request', (r) => {
    if (r.method() !== 'POST' || !r.url().endsWith('/demo/events')) return;
    const body = JSON.parse(r.postData() ?? '{}') as { userId?: string; action?: string; recommId?: string; resourceIds?: string[] };
    if (body.action !== 'impression' || body.userId !== userId) return;
    const s = shown.get(body.recommId!) ?? new Set<string>();
    for (const id of body.resourceIds!) s.add(id);
    shown.set(body.recommId!, s);
  });
  return shown;
}

/** Everything the page reported as a problem: console errors, uncaught exceptions, failed or 4xx/5xx requests. */
function watch(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console.error: ${m.text()}`);
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err instanceof Error ? err.message : String(err)}`));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.method()} ${r.url()} ${r.failure()?.errorText ?? ''}`));
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.request().method()} ${r.url()}`);
  });
  return problems;
}

// Code that runs in the page is written as strings: this project's TypeScript has no DOM types (it is Node code).
const inPage = <T>(page: Page, js: string) => page.evaluate(js) as Promise<T>;

/**
 * Clicks `selector` on the live page. The list re-renders whenever a fresh one arrives (that is the feature), so the
 * element found can be replaced before the click lands ("Node is detached"): then the same selector is clicked again
 * on the new element, a few times at most. Any other error fails the test.
 */
async function clickLive(page: Page, selector: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await page.click(selector);
      return;
    } catch (err) {
      if (attempt >= 5 || !/detached|not clickable|not an Element/i.test(String(err))) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
const until = (page: Page, js: string, timeout = 10_000) => page.waitForFunction(js, { timeout, polling: 50 });
const js = JSON.stringify;
const listedIds = (page: Page) =>
  inPage<string[]>(page, `[...document.querySelectorAll('#items li.item')].map((li) => li.dataset.resourceId)`);
const text = (page: Page, selector: string) => inPage<string>(page, `document.querySelector(${js(selector)}).textContent`);
const statusOf = (id: string) => `(document.getElementById(${js(id)})?.textContent ?? '')`;

/** Waits until the page says its last action changed something, and returns how long that took by its own clock. */
async function waitForChange(page: Page, label: string): Promise<number> {
  await until(
    page,
    `/changed .* after your /.test(${statusOf('last-change')}) && ${statusOf('last-change')}.endsWith(${js(label)})`,
    15_000,
  );
  const said = await text(page, '#last-change');
  const m = /changed ([\d.]+) (ms|s) after/.exec(said);
  if (!m) throw new Error(`unexpected #last-change: ${said}`);
  return m[2] === 's' ? Number(m[1]) * 1000 : Number(m[1]);
}

(haveBrowser ? describe : describe.skip)('demo page in headless Chromium (real pipeline, API and browser)', () => {
  let h: PipelineHarness;
  let pipeline: Pipeline;
  let api: RunningApi;
  let testApi: TestApi | undefined;
  let pipelineMetrics: MetricsServer;
  let browser: Browser;
  let userDataDir: string;
  let base: string;

  beforeAll(async () => {
    h = await createHarness(
      testConfig('demo-page', {
        experiments: [EXP],
        api: { demoPage: true },
        kafka: { partitions: 2 },
        pipeline: { rerankIntervalMs: 50, checkpointIntervalMs: 1000, topN: 30 },
      }),
    );
    // The pipeline's own metrics, served as pipelines/main.ts serves them, for the page's freshness panel.
    const pipelineRegistry = new Registry();
    bindInstrumentation(h.instr, createMetrics(pipelineRegistry));
    pipelineMetrics = await serveMetrics(pipelineRegistry, 0);
    pipeline = await h.start(['learner', 'item', 'catalog', 'experiment']);

    const logger = createLogger({ level: 'error' });
    testApi = await startTestApi({
      config: h.config,
      store: h.store,
      kafka: h.kafka,
      registry: testRegistry(h.config),
      logger,
      extra: { pipelineMetricsUrl: `http://127.0.0.1:${pipelineMetrics.port}/metrics` },
    });
    api = testApi.api;
    base = `http://127.0.0.1:${api.port}`;

    const catalogue = Array.from({ length: 40 }, (_, i) =>
      resource(`res-${i}`, [TOPICS[i % 4]], {
        title: `${TOPICS[i % 4]} ${TYPES[i % 4]} #${i}`,
        type: TYPES[i % 4],
        skills: [`${TOPICS[i % 4]}-skill-${i % 3}`],
        difficulty: (i % 10) / 10,
      }),
    );
    await h.publisher.publish([...catalogue, ...LEARNERS.map((u, i) => profile(u, [TOPICS[i % 4]]))]);
    // Traffic so popularity exists and the demo learners have personal lists, as the demo source makes them.
    await h.publisher.publish([
      ...LEARNERS.flatMap((u, i) => [interaction(u, `res-${i}`), interaction(u, `res-${i + 4}`), interaction(u, `res-${i + 8}`)]),
      interaction('someone-else', 'res-1'),
      interaction('someone-else', 'res-2'),
    ]);
    await waitFor(async () => (await h.store.getResources(['res-39']))[0] !== null, { message: 'catalogue in Redis', timeoutMs: 30_000 });
    for (const u of LEARNERS)
      await waitFor(async () => (await h.store.getRecommendations(u))?.source === 'personal', {
        message: `${u} has a personal list`,
        timeoutMs: 30_000,
      });

    userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ls-chromium-'));
    browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      // As root (CI) Chromium needs --no-sandbox; the rest keeps it from calling home or updating itself mid-test.
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        `--user-data-dir=${userDataDir}`,
      ],
    });
    fs.mkdirSync(SCREENSHOTS, { recursive: true });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    if (userDataDir) fs.rmSync(userDataDir, { recursive: true, force: true });
    await testApi?.stop();
    await pipelineMetrics?.close();
    await h?.close();
  });

  it('desktop: pick a learner, mark a resource done and answer a quiz item; the list and the knowledge change', async () => {
    const page = await browser.newPage();
    const problems = watch(page);
    const impressions = impressionsPosted(page, 'demo-learner-2');
    await page.setViewport({ width: 1280, height: 900 });
    const t0 = Date.now();
    await page.goto(`${base}/demo`, { waitUntil: 'load' });
    await page.waitForSelector('#items li.item');
    const loadMs = Date.now() - t0;

    // Pick a learner other than the default one from the picker.
    await page.select('#learner-select', 'demo-learner-2');
    await until(page, `${statusOf('current-learner')} === 'demo-learner-2' && /source personal/.test(${statusOf('list-status')})`);
    const before = await listedIds(page);
    expect(before.length).toBe(10);
    // Reasons are shown with every item, as the API explained them.
    const reasonTexts = await inPage<string[]>(
      page,
      `[...document.querySelectorAll('#items li.item .reasons li')].map((li) => li.textContent)`,
    );
    expect(reasonTexts.length).toBeGreaterThanOrEqual(before.length);
    expect(reasonTexts.every((t) => t.length > 0)).toBe(true);

    // Mark the top resource done: the pipeline records the completion and the API never serves it again.
    const top = before[0];
    const doneAt = Date.now();
    await clickLive(page, `#items li.item[data-resource-id="${top}"] button[data-action="complete"]`);
    const pageMs = await waitForChange(page, 'mark done');
    const wallMs = Date.now() - doneAt;
    const after = await listedIds(page);
    expect(after).not.toContain(top);
    expect(after).not.toEqual(before);
    // The page measures from the moment the collector accepted the event; "within a second" on an idle machine,
    // allowed 3 s here because this machine's two cores are shared.
    expect(pageMs).toBeLessThan(3000);
    await page.screenshot({ path: path.join(SCREENSHOTS, 'demo-desktop-after-done.png'), fullPage: true });

    // Answer a quiz item of a listed resource right: the learner's knowledge of its skill appears.
    const quizTarget = await inPage<string>(
      page,
      `document.querySelector('#items li.item:has(button[data-action="answer-right"])').dataset.resourceId`,
    );
    const skill = (await h.store.getResources([quizTarget]))[0]!.skills[0];
    expect(await inPage<number>(page, `document.querySelectorAll('#skills tr').length`)).toBe(0);
    await clickLive(page, `#items li.item[data-resource-id="${quizTarget}"] button[data-action="answer-right"]`);
    const quizMs = await waitForChange(page, 'quiz: right');
    await until(page, `[...document.querySelectorAll('#skills tr td:first-child')].some((td) => td.textContent === ${js(skill)})`, 5000);
    const row = await inPage<string[][]>(
      page,
      `[...document.querySelectorAll('#skills tr')].map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent))`,
    );
    const [, mastery, attempts] = row.find((r) => r[0] === skill)!;
    expect(attempts).toBe('1');
    expect(Number(/(\d+)%/.exec(mastery)![1])).toBeGreaterThan(50); // one right answer: above the 50% prior
    expect((await h.store.getKnowledge('demo-learner-2'))?.skills.find((s) => s.skill === skill)?.attempts).toBe(1);

    // The freshness panel shows the pipeline's and the API's own figures, not placeholders (it refreshes every 2 s).
    await until(page, `/lists\\)/.test(${statusOf('figures')}) && /reads\\)/.test(${statusOf('figures')})`);
    const figures = await text(page, '#figures');
    expect(figures).toMatch(/event → list written\s*median ≤ [\d.]+ (ms|s), p95 ≤ [\d.]+ (ms|s) \(\d+ lists\)/);
    expect(figures).toMatch(/events consumed\s*\d+/);
    expect(figures).toMatch(/API recommendations\s*median ≤ [\d.]+ (ms|s), p95 ≤ [\d.]+ (ms|s) \(server, \d+ reads\)/);
    expect(figures).toMatch(/your action → change[\d.]+ (ms|s)/);
    await page.screenshot({ path: path.join(SCREENSHOTS, 'demo-desktop-after-quiz.png'), fullPage: true });

    // Open a listed resource: a click quoting the recommId of the list on screen. The experiment stage counts, for
    // this learner under their variant, every impression the page posted (once per list and resource), this click,
    // and the quiz answer above (after the exposure); the "mark done" completion is not a click.
    const shownList = await inPage<string>(page, 'state.list.recommId');
    expect(shownList).toMatch(new RegExp(`^${EXP.id}\\.${assignVariant(EXP, 'demo-learner-2').name}\\.`));
    const opened = (await listedIds(page))[1];
    await clickLive(page, `#items li.item[data-resource-id="${opened}"] button[data-action="click"]`);
    await until(page, `/open sent|your open$/.test(${statusOf('last-change')})`); // accepted by the collector
    // the impressions of the list the click was made on were posted (the page sends them before the click)
    expect(impressions.get(shownList)?.has(opened)).toBe(true);
    const mine = async () => {
      await inPage(page, 'state.impressionPost');
      let shown = 0;
      for (const [recommId, ids] of impressions) if (recommId.startsWith(`${EXP.id}.`)) shown += ids.size;
      return {
        experiment: EXP.id,
        variant: assignVariant(EXP, 'demo-learner-2').name,
        impressions: shown,
        clicks: 1,
        attempts: 1,
        successes: 1,
        crossovers: 0,
        unmatched: 0,
      };
    };
    await waitFor(async () => JSON.stringify(pipeline.experiment!.learnerCounts('demo-learner-2')) === JSON.stringify([await mine()]), {
      message: "the experiment stage counted the page's impressions and click",
      timeoutMs: 20_000,
    }).catch(() => undefined);
    expect(pipeline.experiment!.learnerCounts('demo-learner-2')).toEqual([await mine()]);
    const counted = (await mine()).impressions;
    expect(counted).toBeGreaterThanOrEqual(before.length);

    expect(problems).toEqual([]);
    process.stdout.write(
      `demo page (desktop): loaded with a list in ${loadMs} ms; done → list changed in ${Math.round(pageMs)} ms (page clock; ${wallMs} ms from the test's click), quiz → changed in ${Math.round(quizMs)} ms; experiment stage counted ${counted} impressions over ${impressions.size} lists + 1 click for demo-learner-2\n`,
    );
    await page.close();
  });

  it('path-to-goal box: a goal typed for the learner shows the planned steps from GET /v1/learners/{id}/path', async () => {
    const page = await browser.newPage();
    const problems = watch(page);
    await page.setViewport({ width: 1280, height: 900 });
    await page.goto(`${base}/demo#demo-learner-3`, { waitUntil: 'load' });
    await page.waitForSelector('#items li.item');
    await page.type('#goal-input', 'res-39');
    await page.click('#path-form button[type=submit]');
    await until(page, `document.querySelectorAll('#path-steps li').length > 0`, 15_000);
    const steps = await inPage<string[]>(page, `[...document.querySelectorAll('#path-steps li')].map((li) => li.textContent)`);
    // res-39 has no prerequisites in this catalogue: the path is the goal itself, named by its catalogue title
    expect(steps[steps.length - 1]).toMatch(/^history exercise #39 · goal/);
    expect(await text(page, '#path-status')).toMatch(/^1 step · mastered at P\(success\) ≥ 80%/);
    // what the API answers for the same goal
    const api = await inPage<{ totalSteps: number; steps: { resourceId: string }[] }>(
      page,
      `fetch('/v1/learners/demo-learner-3/path?goal=res-39&max=10', { headers: { 'x-api-key': state.cfg.readKey } }).then((r) => r.json())`,
    );
    expect(api.steps.map((s) => s.resourceId)).toEqual(['res-39']);
    await page.screenshot({ path: path.join(SCREENSHOTS, 'demo-path.png') });
    expect(problems).toEqual([]);
    await page.close();
  });

  it('phone (390x844): a typed new learner gets a labelled fallback, then a personal list after marking one done', async () => {
    const page = await browser.newPage();
    const problems = watch(page);
    await page.setViewport({ width: 390, height: 844, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
    await page.goto(`${base}/demo`, { waitUntil: 'load' });
    await page.waitForSelector('#items li.item');

    const newcomer = `visitor-${Date.now()}`;
    await page.type('#learner-input', newcomer);
    await page.tap('#learner-form button[type="submit"]');
    await until(page, `${statusOf('current-learner')} === ${js(newcomer)} && /fallback/.test(${statusOf('list-status')})`);
    const before = await listedIds(page);
    expect(before.length).toBeGreaterThan(0);
    // Nothing wider than the phone: no sideways scrolling.
    expect(await inPage<number>(page, 'document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);

    await page.tap(`#items li.item[data-resource-id="${before[0]}"] button[data-action="complete"]`);
    await waitForChange(page, 'mark done');
    expect(await listedIds(page)).not.toContain(before[0]);
    await until(page, `/source personal/.test(${statusOf('list-status')})`);
    expect(await inPage<number>(page, 'document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    await page.screenshot({ path: path.join(SCREENSHOTS, 'demo-phone.png'), fullPage: false });

    expect(problems).toEqual([]);
    await page.close();
  });

  it('the browser never sees a write or admin key, and the demo route posts through the collector', async () => {
    const cfg = (await (await fetch(`${base}/demo/config.json`)).json()) as { readKey: string };
    expect(h.config.api.apiKeys.find((k) => k.key === cfg.readKey)?.scopes).toEqual(['read']);
    const page = (await Promise.all([fetch(`${base}/demo`), fetch(`${base}/demo/app.js`)].map(async (r) => (await r).text()))).join('\n');
    for (const k of h.config.api.apiKeys.filter((k) => k.scopes.includes('write'))) expect(page).not.toContain(k.key);
    const bad = await fetch(`${base}/demo/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ userId: 'x', resourceId: 'res-1', action: 'delete' }),
    });
    expect(bad.status).toBe(400);
    const ok = await fetch(`${base}/demo/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ userId: 'demo-learner-3', resourceId: 'res-5', action: 'click' }),
    });
    expect(ok.status).toBe(202);
    expect(await ok.json()).toMatchObject({ kind: 'interaction', collector: { accepted: 1, rejected: 0 } });
    // impressions: a recommId and the resources shown, one event each; without a recommId it is not an impression
    const post = (body: unknown) =>
      fetch(`${base}/demo/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect((await post({ userId: 'demo-learner-3', action: 'impression', resourceIds: ['res-5'] })).status).toBe(400);
    const imp = await post({
      userId: 'demo-learner-3',
      action: 'impression',
      recommId: `${EXP.id}.control.abc123`,
      resourceIds: ['res-5', 'res-6'],
    });
    expect(imp.status).toBe(202);
    expect(await imp.json()).toMatchObject({ kind: 'interaction', events: 2, collector: { accepted: 2, rejected: 0 } });
  });
});
