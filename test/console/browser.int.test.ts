// The console in a real browser: playwright-core drives Debian's chromium against a seeded database. Every page
// loads and reads well (screenshots in docs/console-screenshots/), a dead letter is redriven through the UI
// and the database shows it, read-only mode refuses it, and a wrong basic-auth password is refused.
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Walbox } from '../../src/index.js';
import { isolatedWalbox } from '../support/db.js';
import { until } from '../support/recording-sink.js';
import { canStart, serverPath } from '../support/required-servers.js';
import { appendWave, HOSTILE_KEY, type Seeded, seed, serveConsole } from './support/seed.js';

const SHOTS = fileURLToPath(new URL('../../docs/console-screenshots/', import.meta.url));
// Without chromium the whole file is skipped (global setup prints the one line saying how to install it), and
// nothing is set up: a file whose tests are all skipped runs no afterAll.
const found = canStart('chromium');
let pool: pg.Pool;
let walbox: Walbox;
let seeded: Seeded;
let browser: Browser;
let consoleUrl: string;
const closers: (() => Promise<void>)[] = [];

if (found) {
  ({ pool, walbox } = await isolatedWalbox('console-browser'));
  beforeAll(async () => {
    seeded = await seed(walbox, pool);
    const served = await serveConsole(walbox);
    closers.push(served.close);
    consoleUrl = served.url;
    const { chromium } = await import('playwright-core');
    // As root (CI, containers) chromium only starts without its sandbox.
    browser = await chromium.launch({ executablePath: serverPath('chromium'), args: ['--no-sandbox'] });
    await mkdir(SHOTS, { recursive: true });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    for (const close of closers.splice(0)) await close();
    await seeded?.stopDispatcher();
  });
}

async function open(path: string, base = consoleUrl): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1360, height: 860 } });
  const response = await page.goto(`${base}${path}`);
  expect(response?.status(), path).toBe(200);
  // No page may have turned the hostile key into markup.
  expect(await page.locator('#pwned').count()).toBe(0);
  return page;
}

async function shot(page: Page, name: string) {
  await page.screenshot({ path: `${SHOTS}${name}.png`, fullPage: true });
}

async function openDeadLetters(): Promise<{ id: string; status: string; key: string; target: string }[]> {
  const { rows } = await pool.query(
    `select id::text, status, key, target from "${walbox.schema}".dead_letters order by id`,
  );
  return rows;
}

describe.runIf(found)('the console in chromium', () => {
  it('shows the overview with lag, failing targets and a history chart', async () => {
    const first = await open('/');
    await first.close();
    // The chart needs a few samples (every 250 ms here) of something happening.
    for (let wave = 1; wave <= 8; wave++) {
      await appendWave(walbox, pool, wave);
      await new Promise((r) => setTimeout(r, 300));
    }
    const page = await open('/');
    await expect(page.locator('tr.group', { hasText: 'Namespace orders' }).count()).resolves.toBe(1);
    const search = page.locator('tr', { has: page.locator('a', { hasText: /^search$/ }) });
    await expect(search.locator('td').nth(6).textContent()).resolves.toBe('3');
    const warehouse = page.locator('tr', { has: page.locator('a', { hasText: /^warehouse$/ }) });
    await expect(warehouse.locator('td').nth(7).textContent()).resolves.toBe('2 / 2');
    expect(await page.locator('svg.chart').count()).toBeGreaterThanOrEqual(4);
    await shot(page, 'overview');
    await page.close();
  });

  it("lists a target's blocked and retrying keys with the entry holding each", async () => {
    const page = await open('/targets/users/index');
    const row = page.locator('tr', { hasText: 'user-stuck' });
    await expect(row.locator('.pill').textContent()).resolves.toBe('blocking');
    await expect(row.textContent()).resolves.toContain('rejected');
    await shot(page, 'target-blocked');
    await page.close();

    const mailer = await open('/targets/emails/mailer');
    await expect(
      mailer.locator('tr', { hasText: 'welcome-ada' }).locator('.pill').textContent(),
    ).resolves.toBe('retrying');
    await mailer.close();
  });

  it('filters dead letters, shows one in detail, and escapes hostile keys and payloads', async () => {
    const page = await open('/dead-letters?namespace=orders');
    expect(await page.locator('tbody tr').count()).toBe(3);
    await expect(page.locator('tbody').textContent()).resolves.toContain(HOSTILE_KEY);
    await shot(page, 'dead-letters');
    const hostile = (await openDeadLetters()).find((d) => d.key === HOSTILE_KEY)!;
    await page.locator(`a[href$="/dead-letters/${hostile.id}"]`).click();
    await page.waitForURL(`**/dead-letters/${hostile.id}`);
    expect(await page.locator('#pwned').count()).toBe(0);
    await expect(page.locator('pre').first().textContent()).resolves.toContain('</pre><b>x</b>');
    await shot(page, 'dead-letter');
    await page.close();
  });

  it("shows a key's changes with a dead delivery at one target and applied at the other", async () => {
    const page = await open('/keys?namespace=orders&key=order-7');
    const dead = page.locator('tbody tr', { has: page.locator('.pill.dead') });
    expect(await dead.count()).toBe(2);
    await expect(dead.first().textContent()).resolves.toMatch(/cache\s*applied/);
    await shot(page, 'key-history');
    await page.close();
  });

  it('redrives a dead letter through the UI, and the database and the sink show it delivered', async () => {
    seeded.heal();
    const target = (await openDeadLetters()).find((d) => d.key === 'user-stuck')!;
    expect(target.status).toBe('blocking');
    const page = await open(`/dead-letters/${target.id}`);
    await page.getByRole('button', { name: 'Redrive' }).click();
    await page.waitForURL(/done=redriven/);
    await expect(page.locator('.flash').textContent()).resolves.toContain('Redriven 1 of 1');
    const after = (await openDeadLetters()).find((d) => d.id === target.id)!;
    expect(after.status).toBe('redriven');
    // Unblocked, the key's two entries reach the sink in order.
    await until(
      () => seeded.sinks.index!.applied.filter((e) => e.key === 'user-stuck').length === 2,
      20_000,
      'the redriven key to be delivered',
    );
    await page.close();
  });

  it('redrives selected dead letters from the list with the checkboxes', async () => {
    const page = await open('/dead-letters?namespace=orders&target=search');
    await page.locator('input[data-all="ids"]').check();
    await page.getByRole('button', { name: 'Redrive selected' }).click();
    await page.waitForURL(/done=redriven/);
    await expect(page.locator('.flash').textContent()).resolves.toContain('Redriven 3 of 3');
    const search = (await openDeadLetters()).filter((d) => d.target === 'search');
    expect(search.map((d) => d.status)).toEqual(['redriven', 'redriven', 'redriven']);
    await page.close();
  });

  it("shows a key's history with each target's delivery state, and its mutation", async () => {
    const page = await open(`/keys?namespace=users&key=user-ada`);
    await expect(page.locator('tbody tr').count()).resolves.toBe(1);
    await page.locator(`a[href$="/mutations/${seeded.transactionId}"]`).click();
    await page.waitForURL(`**/mutations/${seeded.transactionId}`);
    const parts = page.locator('tbody tr');
    expect(await parts.count()).toBe(3); // order-100 to search and cache, user-ada to index
    await expect(page.locator('tbody').textContent()).resolves.toContain('user-ada');
    await shot(page, 'mutation');
    await page.close();
  });

  it('replays a range from the replay form', async () => {
    const page = await open('/replay');
    await shot(page, 'replay');
    page.on('dialog', (d) => void d.accept());
    const range = page.locator('form', { has: page.getByRole('button', { name: 'Replay range' }) });
    await range.locator('select[name=namespace]').selectOption('orders');
    await range.locator('input[name=target]').fill('cache');
    await range.locator('input[name=from]').fill('1');
    await range.getByRole('button', { name: 'Replay range' }).click();
    await page.waitForURL(/done=replayed/);
    await expect(page.locator('.flash').textContent()).resolves.toMatch(/Queued \d+ entries for replay/);
    await page.close();
  });

  it('in read-only mode draws no action and refuses a posted one with 403', async () => {
    const served = await serveConsole(walbox, { readOnly: true });
    closers.push(served.close);
    await pool.query(
      `update "${walbox.schema}".dead_letters set status = 'dead', resolved_at = null where key = $1`,
      ['order-7'],
    );
    const dead = (await openDeadLetters()).find((d) => d.key === 'order-7')!;
    const page = await open(`/dead-letters/${dead.id}`, served.url);
    expect(await page.getByRole('button', { name: 'Redrive' }).count()).toBe(0);
    await expect(page.locator('header .mode').textContent()).resolves.toBe('read-only');
    await shot(page, 'read-only');
    const refused = await page.request.post(`${served.url}/dead-letters/redrive`, {
      form: { ids: dead.id, csrf: 'x' },
    });
    expect(refused.status()).toBe(403);
    expect((await openDeadLetters()).find((d) => d.id === dead.id)!.status).toBe('dead');
    await page.close();
  });

  it('asks for basic credentials and refuses a wrong password', async () => {
    const served = await serveConsole(walbox, { basicAuth: { user: 'ops', password: 's3cret' } });
    closers.push(served.close);
    const wrong = await browser.newContext({ httpCredentials: { username: 'ops', password: 'wrong' } });
    const refused = await (await wrong.newPage()).goto(`${served.url}/`);
    expect(refused?.status()).toBe(401);
    await wrong.close();
    const right = await browser.newContext({ httpCredentials: { username: 'ops', password: 's3cret' } });
    const ok = await (await right.newPage()).goto(`${served.url}/dead-letters`);
    expect(ok?.status()).toBe(200);
    await right.close();
  });
});
