// The console's handler without a browser: escaping, CSRF, basic auth, read-only, basePath, and mounting it
// in Node's http, Express and Fastify, against a real database.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConsoleHandler, toNodeHandler } from '../../src/index.js';
import { isolatedWalbox } from '../support/db.js';
import { FAST } from '../support/dispatchers.js';
import { RecordingSink, until } from '../support/recording-sink.js';
import { HOSTILE_KEY } from './support/seed.js';

const { pool, walbox } = await isolatedWalbox('console-handler');
const handler = createConsoleHandler(walbox, { historyIntervalMs: 200 });
const closers: (() => Promise<void> | void)[] = [() => handler.close()];
afterAll(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

const get = (path: string, h = handler, init?: RequestInit) =>
  h(new Request(`http://console.test${path}`, init));
const token = (page: string) => /name="csrf" value="([^"]+)"/.exec(page)?.[1];
function post(path: string, form: Record<string, string>, headers: Record<string, string> = {}, h = handler) {
  return get(path, h, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form).toString(),
  });
}
async function deadLetterStatus(key: string): Promise<string[]> {
  const { rows } = await pool.query(
    `select status from "${walbox.schema}".dead_letters where key = $1 order by id`,
    [key],
  );
  return rows.map((r) => r.status);
}

beforeAll(async () => {
  // 'block': the hostile key is also held at its target, so the target page shows it too.
  await walbox.namespaces.upsert({
    name: 'h',
    targets: ['t'],
    onExhausted: 'block',
    retry: { limit: 0, initialDelayMs: 10, maxDelayMs: 10 },
  });
  const sink = new RecordingSink('t');
  sink.fault = (batch) => ({ failed: batch.map((e) => ({ id: e.id, error: new Error('<b>boom</b>') })) });
  const d = walbox.dispatcher({ sinks: { t: sink }, ...FAST });
  await d.start();
  closers.push(() => d.stop());
  await walbox.appendMany(pool, [
    { namespace: 'h', key: HOSTILE_KEY, op: 'upsert', payload: { html: '<script>alert(1)</script>' } },
    { namespace: 'h', key: 'plain', op: 'upsert', payload: {} },
  ]);
  await until(
    async () => (await walbox.deadLetters.list({ namespace: 'h' })).length === 2,
    20_000,
    'dead letters',
  );
});

describe('createConsoleHandler', () => {
  it('escapes keys, payloads and errors on every page that shows them', async () => {
    const [dl] = await walbox.deadLetters.list({ key: HOSTILE_KEY });
    const pages = [
      '/dead-letters',
      `/dead-letters/${dl!.id}`,
      `/keys?namespace=h&key=${encodeURIComponent(HOSTILE_KEY)}`,
      '/targets/h/t',
    ];
    for (const path of pages) {
      const res = await get(path);
      expect(res.status, path).toBe(200);
      const page = await res.text();
      expect(page, path).not.toContain('<img src=x');
      expect(page, path).not.toContain('<script>alert');
      expect(page, path).not.toContain('<b>boom');
      expect(page, path).toContain(
        '&lt;img src=x id=pwned onerror=&quot;document.title=1&quot;&gt;&quot;&#39;&amp;',
      );
    }
    const res = await get('/');
    expect(res.headers.get('content-security-policy')).toMatch(/script-src 'nonce-[^']+'/);
  });

  it('refuses a POST without the CSRF token, or sent cross-site, and accepts the form the page drew', async () => {
    const page = await (await get('/dead-letters')).text();
    const csrf = token(page)!;
    const [plain] = await walbox.deadLetters.list({ key: 'plain' });
    expect((await post('/dead-letters/discard', { ids: plain!.id })).status).toBe(403);
    expect((await post('/dead-letters/discard', { ids: plain!.id, csrf: `${csrf}x` })).status).toBe(403);
    const crossSite = await post(
      '/dead-letters/discard',
      { ids: plain!.id, csrf },
      { 'sec-fetch-site': 'cross-site' },
    );
    expect(crossSite.status).toBe(403);
    expect(await deadLetterStatus('plain')).toEqual(['blocking']);

    const done = await post('/dead-letters/discard', { ids: plain!.id, csrf, back: '//evil.example/' });
    expect(done.status).toBe(303);
    expect(done.headers.get('location')).toBe('/dead-letters?done=discarded&n=1&of=1');
    expect(await deadLetterStatus('plain')).toEqual(['discarded']);
  });

  it("replays a mutation from its page's form", async () => {
    const [row] = await walbox.audit({ key: HOSTILE_KEY });
    const page = await (await get(`/mutations/${row!.transaction_id}`)).text();
    expect(page).toContain('Replay to every target');
    const back = `/mutations/${row!.transaction_id}`;
    const res = await post('/replay', { csrf: token(page)!, transactionId: row!.transaction_id, back });
    expect(res.status).toBe(303);
    // Two entries (one transaction): the blocked one is queued at its target already, the other is queued again.
    expect(res.headers.get('location')).toBe(`${back}?done=replayed&n=1`);
  });

  it('answers 400 with the reason for bad input, and 404 for what does not exist', async () => {
    const csrf = token(await (await get('/replay')).text())!;
    const bad = await post('/replay', { csrf, namespace: 'h', target: 't', from: 'abc' });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('from: expected an entry id');
    expect((await get('/mutations/12x')).status).toBe(400);
    expect((await get('/targets/h/nope')).status).toBe(404);
    expect((await get('/dead-letters/999999')).status).toBe(404);
    expect((await get('/nowhere')).status).toBe(404);
    expect((await get('/', handler, { method: 'DELETE' })).status).toBe(405);
  });

  it('in read-only mode refuses every action with 403 and draws no form', async () => {
    const ro = createConsoleHandler(walbox, { readOnly: true });
    closers.push(() => ro.close());
    const page = await (await get('/dead-letters', ro)).text();
    expect(page).not.toContain('method="post"');
    const csrf = token(await (await get('/dead-letters', handler)).text())!;
    const [hostile] = await walbox.deadLetters.list({ key: HOSTILE_KEY });
    for (const action of ['/dead-letters/redrive', '/dead-letters/discard', '/replay']) {
      expect((await post(action, { ids: hostile!.id, csrf, transactionId: '1' }, {}, ro)).status).toBe(403);
    }
    expect(await deadLetterStatus(HOSTILE_KEY)).toEqual(['blocking']);
  });

  it('asks for basic credentials and refuses a wrong user or password', async () => {
    const auth = createConsoleHandler(walbox, { basicAuth: { user: 'ops', password: 'pa:ss' } });
    closers.push(() => auth.close());
    const basic = (s: string) => ({
      headers: { authorization: `Basic ${Buffer.from(s).toString('base64')}` },
    });
    const none = await get('/', auth);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toContain('Basic realm="walbox console"');
    for (const wrong of ['ops:wrong', 'opz:pa:ss', 'ops', ':pa:ss', 'ops:pa:ss:']) {
      expect((await get('/', auth, basic(wrong))).status, wrong).toBe(401);
    }
    expect((await get('/', auth, basic('ops:pa:ss'))).status).toBe(200);
  });

  it('serves under a basePath, and rejects bad options naming the field', async () => {
    const based = createConsoleHandler(walbox, { basePath: '/ops/walbox' });
    closers.push(() => based.close());
    const page = await (await get('/ops/walbox/', based)).text();
    expect(page).toContain('href="/ops/walbox/dead-letters"');
    expect((await get('/ops/walbox', based)).headers.get('location')).toBe('/ops/walbox/');
    expect((await get('/dead-letters', based)).status).toBe(404);
    expect(() => createConsoleHandler(walbox, { basePath: 'ops/' })).toThrow(/console\.basePath/);
    expect(() => createConsoleHandler(walbox, { basicAuth: { user: 'a', password: '' } })).toThrow(
      /console\.basicAuth\.password/,
    );
  });
});

describe('toNodeHandler', () => {
  async function listen(server: ReturnType<typeof createServer>) {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    closers.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  /** Loads the dead-letter page under `base`, then redrives with the form's token; returns the redirect. */
  async function redriveThrough(base: string): Promise<Response> {
    const page = await fetch(`${base}/dead-letters?status=all`);
    expect(page.status).toBe(200);
    const html = await page.text();
    const [dl] = await walbox.deadLetters.list({
      key: HOSTILE_KEY,
      status: ['dead', 'blocking', 'redriven'],
    });
    return fetch(`${base}/dead-letters/redrive`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ ids: dl!.id, csrf: token(html)! }).toString(),
    });
  }

  it("serves the console from Node's http server", async () => {
    const base = await listen(createServer(toNodeHandler(handler)));
    const res = await redriveThrough(base);
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toMatch(/^\/dead-letters\?done=redriven&n=[01]&of=1$/);
  });

  it('mounts in Express under a path, beside a body parser', async () => {
    const app = express();
    app.use(express.urlencoded({ extended: false }));
    const h = createConsoleHandler(walbox, { basePath: '/walbox' });
    closers.push(() => h.close());
    app.use('/walbox', toNodeHandler(h));
    app.get('/', (_req, res) => void res.send('the app'));
    const base = await listen(createServer(app));
    expect(await (await fetch(`${base}/`)).text()).toBe('the app');
    const res = await redriveThrough(`${base}/walbox`);
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toMatch(/^\/walbox\/dead-letters\?done=redriven/);
  });

  it('mounts in Fastify from an onRequest hook', async () => {
    const app = Fastify();
    const h = createConsoleHandler(walbox, { basePath: '/walbox' });
    const serve = toNodeHandler(h);
    app.addHook('onRequest', (request, reply, done) => {
      if (request.url !== '/walbox' && !request.url.startsWith('/walbox/')) return done();
      reply.hijack();
      serve(request.raw, reply.raw);
    });
    app.get('/', async () => 'the app');
    await app.listen({ port: 0, host: '127.0.0.1' });
    closers.push(async () => {
      h.close();
      await app.close();
    });
    const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    expect(await (await fetch(`${base}/`)).text()).toBe('the app');
    const res = await redriveThrough(`${base}/walbox`);
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toMatch(/^\/walbox\/dead-letters\?done=redriven/);
  });
});
