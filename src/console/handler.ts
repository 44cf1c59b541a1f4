import { randomBytes } from 'node:crypto';
import { WalboxError } from '../errors.js';
import type { Walbox } from '../walbox.js';
import { flashText, runAction } from './actions.js';
import { type ConsoleOptions, resolveConsoleConfig } from './console-config.js';
import { StatusHistory } from './history.js';
import { html } from './html.js';
import { flashBox, layout, type PageContext } from './layout.js';
import { deadLetterFilter, deadLetterPage, deadLettersPage } from './pages/dead-letters.js';
import { keyHistoryPage } from './pages/key-history.js';
import { mutationPage } from './pages/mutation.js';
import { overviewPage } from './pages/overview.js';
import type { Page } from './pages/page.js';
import { replayPage } from './pages/replay.js';
import { targetPage } from './pages/target.js';
import { ConsoleQueries } from './queries.js';
import { basicAuthorized, csrfOk, csrfToken } from './security.js';

/** A Fetch-API handler; close() stops the status sampling behind the history chart. */
export interface ConsoleHandler {
  (request: Request): Promise<Response>;
  close(): void;
}

const ACTIONS = new Set(['/dead-letters/redrive', '/dead-letters/discard', '/replay']);
const MAX_FORM_BYTES = 1_000_000;

/**
 * The web console as a function from Request to Response, to serve with `walbox console`, or to mount in an
 * existing server (toNodeHandler for Node's http, Express and Fastify; as is for Fetch-API servers).
 */
export function createConsoleHandler(walbox: Walbox, options: ConsoleOptions = {}): ConsoleHandler {
  const config = resolveConsoleConfig(options);
  const base = config.basePath;
  const csrf = csrfToken(config.csrfSecret);
  const queries = new ConsoleQueries(walbox.pool, walbox.schema);
  const history = new StatusHistory(() => walbox.status(), config.historyIntervalMs, config.historySize);
  const onError = config.onError ?? ((err: unknown) => console.error('walbox console:', err));

  async function route(request: Request, ctx: PageContext): Promise<Page | Response> {
    const path = ctx.url.pathname.slice(base.length) || '/';
    const method = request.method === 'HEAD' ? 'GET' : request.method;
    if (method === 'POST' && ACTIONS.has(path)) return post(request, ctx, path);
    if (method !== 'GET')
      return new Response('method not allowed', { status: 405, headers: { allow: 'GET, HEAD' } });
    const p = ctx.url.searchParams;
    const segments = path.split('/').slice(1).map(decodeSegment);
    if (path === '/') {
      const targets = await walbox.status();
      return overviewPage(ctx, targets, history);
    }
    if (segments[0] === 'targets' && segments.length === 3) {
      const [, namespace, target] = segments as [string, string, string];
      const t = (await walbox.status({ namespace })).find((s) => s.target === target);
      if (!t) return notFound(`Namespace ${namespace} has no target ${target}.`);
      return targetPage(ctx, t, await queries.heldKeys(namespace, target));
    }
    if (path === '/dead-letters') {
      const filter = deadLetterFilter(ctx.url);
      const [names, rows] = await Promise.all([namespaceNames(), walbox.deadLetters.list(filter)]);
      return deadLettersPage(ctx, filter, names, rows);
    }
    if (segments[0] === 'dead-letters' && segments.length === 2 && /^\d{1,19}$/.test(segments[1]!)) {
      const d = await queries.deadLetter(segments[1]!);
      return d ? deadLetterPage(ctx, d) : notFound(`No dead letter ${segments[1]}.`);
    }
    if (path === '/keys') {
      const namespace = p.get('namespace') || undefined;
      const key = p.get('key') || undefined;
      const rows = key === undefined ? undefined : await walbox.audit({ key, namespace, limit: 200 });
      return keyHistoryPage(ctx, await namespaceNames(), { namespace, key }, rows);
    }
    if (segments[0] === 'mutations' && segments.length <= 2) {
      const tx = segments[1] || p.get('tx')?.trim() || undefined;
      if (segments.length === 1 && tx !== undefined)
        return redirect(`${base}/mutations/${encodeURIComponent(tx)}`);
      return mutationPage(ctx, tx, tx === undefined ? undefined : await walbox.mutations.status(tx));
    }
    if (path === '/replay') {
      const namespaces = await walbox.namespaces.list();
      return replayPage(
        ctx,
        namespaces.map((n) => ({ name: n.name, targets: n.targets })),
      );
    }
    return notFound('No such page.');
  }

  async function post(request: Request, ctx: PageContext, action: string): Promise<Response> {
    if (config.readOnly) return forbidden(ctx, 'This console is read-only: actions are refused.');
    const type = request.headers.get('content-type') ?? '';
    if (!type.startsWith('application/x-www-form-urlencoded')) {
      return new Response('expected a form (application/x-www-form-urlencoded)', { status: 415 });
    }
    const text = await request.text();
    if (text.length > MAX_FORM_BYTES) return new Response('form too large', { status: 413 });
    const form = new URLSearchParams(text);
    if (!csrfOk(request, form.get('csrf'), csrf)) {
      return forbidden(
        ctx,
        'The form is stale or came from another site (CSRF token missing or wrong): reload the page and try again.',
      );
    }
    const result = await runAction(walbox, action, form);
    const back = form.get('back') ?? '';
    // Only a path inside the console: never an open redirect.
    const target =
      back.startsWith(`${base}/`) && !back.startsWith('//')
        ? back
        : `${base}${action === '/replay' ? '/replay' : '/dead-letters'}`;
    const url = new URL(target, ctx.url);
    for (const k of ['done', 'n', 'of', 'gone']) url.searchParams.delete(k);
    url.searchParams.set('done', result.done);
    url.searchParams.set('n', String(result.n));
    if (result.of !== undefined) url.searchParams.set('of', String(result.of));
    if (result.outOfLog !== undefined) url.searchParams.set('gone', String(result.outOfLog));
    return redirect(`${url.pathname}${url.search}`);
  }

  function forbidden(ctx: PageContext, message: string): Response {
    return render(ctx, { title: 'Refused', body: html`<p>${message}</p>`, status: 403 });
  }

  async function namespaceNames(): Promise<string[]> {
    return (await walbox.namespaces.list()).map((n) => n.name);
  }

  const handler = async (request: Request): Promise<Response> => {
    const url = new URL(request.url);
    if (
      config.basicAuth &&
      !basicAuthorized(request.headers.get('authorization'), config.basicAuth.user, config.basicAuth.password)
    ) {
      return new Response('authentication required', {
        status: 401,
        headers: {
          'www-authenticate': 'Basic realm="walbox console", charset="UTF-8"',
          'content-type': 'text/plain',
        },
      });
    }
    if (url.pathname !== base && !url.pathname.startsWith(`${base}/`))
      return new Response('not found', { status: 404 });
    if (url.pathname === base && base !== '') return redirect(`${base}/`);
    history.start();
    const ctx: PageContext = {
      base,
      csrf,
      readOnly: config.readOnly,
      nonce: randomBytes(16).toString('base64'),
      url,
    };
    try {
      const page = await route(request, ctx);
      return page instanceof Response ? page : render(ctx, page);
    } catch (err) {
      if (err instanceof WalboxError) {
        return render(ctx, {
          title: 'Not possible',
          body: html`<p class="bad">${err.message}</p><p><a href="${base}/">Back to the overview</a></p>`,
          status: 400,
        });
      }
      onError(err);
      return render(ctx, {
        title: 'Error',
        body: html`<p class="bad">The console could not read walbox's tables (see the server's log).</p>`,
        status: 500,
      });
    }
  };

  function render(ctx: PageContext, page: Page): Response {
    const flash = flashText(ctx.url);
    const body = layout(ctx, page.title, page.body, flash ? flashBox(flash) : undefined).text;
    return new Response(body, {
      status: page.status ?? 200,
      headers: {
        'content-type': 'text/html; charset=utf-8',
        'content-security-policy': `default-src 'none'; style-src 'unsafe-inline'; script-src 'nonce-${ctx.nonce}'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`,
        'x-content-type-options': 'nosniff',
        'x-frame-options': 'DENY',
        'referrer-policy': 'same-origin',
        'cache-control': 'no-store',
      },
    });
  }

  function notFound(message: string): Page {
    return { title: 'Not found', body: html`<p>${message}</p>`, status: 404 };
  }

  return Object.assign(handler, { close: () => history.stop() });
}

/** A path segment as text; a malformed escape is kept as typed (it then matches nothing). */
function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function redirect(location: string): Response {
  return new Response(null, { status: 303, headers: { location } });
}
