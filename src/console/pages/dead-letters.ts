import type { DeadLetter, DeadLetterFilter, DeadLetterStatus } from '../../dead-letters.js';
import { html, prettyJson, query, when } from '../html.js';
import { type PageContext, pill, postForm } from '../layout.js';
import type { DeadLetterDetail } from '../queries.js';
import type { Page } from './page.js';

export const DEAD_LETTER_STATUSES: readonly DeadLetterStatus[] = [
  'dead',
  'blocking',
  'redriven',
  'discarded',
];

/** The filter from the query string: namespace, target, key, and status ('open', 'all' or one status). */
export function deadLetterFilter(url: URL): DeadLetterFilter & { statusParam: string } {
  const p = url.searchParams;
  const text = (name: string) => p.get(name)?.trim() || undefined;
  const statusParam = p.get('status') || 'open';
  const status =
    statusParam === 'all'
      ? [...DEAD_LETTER_STATUSES]
      : DEAD_LETTER_STATUSES.includes(statusParam as DeadLetterStatus)
        ? [statusParam as DeadLetterStatus]
        : undefined;
  return {
    namespace: text('namespace'),
    target: text('target'),
    key: text('key'),
    status,
    statusParam,
    limit: 200,
  };
}

export function deadLettersPage(
  ctx: PageContext,
  filter: ReturnType<typeof deadLetterFilter>,
  namespaces: string[],
  rows: DeadLetter[],
): Page {
  const open = rows.filter((d) => d.status === 'dead' || d.status === 'blocking');
  const option = (value: string, label: string, selected: boolean) =>
    html`<option value="${value}"${selected ? html` selected` : ''}>${label}</option>`;
  const body = html`<form class="filters" method="get" action="${ctx.base}/dead-letters">
<label>Namespace<select name="namespace">${option('', 'any', !filter.namespace)}${namespaces.map((n) =>
    option(n, n, n === filter.namespace),
  )}</select></label>
<label>Target<input name="target" value="${filter.target ?? ''}" placeholder="any"></label>
<label>Key<input name="key" value="${filter.key ?? ''}" placeholder="any"></label>
<label>Status<select name="status">${[
    ['open', 'open (dead or blocking)'],
    ...DEAD_LETTER_STATUSES.map((s) => [s, s]),
    ['all', 'all'],
  ].map(([v, l]) => option(v!, l!, v === filter.statusParam))}</select></label>
<button type="submit" class="secondary">Filter</button></form>
${
  rows.length === 0
    ? html`<p class="muted">No dead letters match.</p>`
    : html`${ctx.readOnly ? table(ctx, rows) : bulkForm(ctx, rows, open.length > 0)}
<p class="muted">${rows.length} shown (at most ${filter.limit ?? 200}), oldest entry first.</p>`
}`;
  return { title: 'Dead letters', body };
}

/** The list inside a form whose checkboxes choose what the two buttons redrive or discard. */
function bulkForm(ctx: PageContext, rows: DeadLetter[], anyOpen: boolean) {
  return html`<form method="post" action="${ctx.base}/dead-letters/redrive">
<input type="hidden" name="csrf" value="${ctx.csrf}"><input type="hidden" name="back" value="${ctx.url.pathname + ctx.url.search}">
${table(ctx, rows)}${
  anyOpen
    ? html`<div class="actions"><button type="submit">Redrive selected</button>
<button type="submit" class="danger" formaction="${ctx.base}/dead-letters/discard" data-confirm="Discard the selected dead letters for good?">Discard selected</button></div>`
    : ''
}</form>`;
}

function table(ctx: PageContext, rows: DeadLetter[]) {
  const select = !ctx.readOnly;
  return html`<table><thead><tr>${select ? html`<th><input type="checkbox" data-all="ids" aria-label="select all"></th>` : ''}
<th class="num">Id</th><th class="num">Entry</th><th>Namespace</th><th>Target</th><th>Key</th><th>Status</th>
<th class="num">Attempts</th><th>Last failed</th><th>Last error</th></tr></thead><tbody>${rows.map(
    (d) => html`<tr>${
      select
        ? html`<td>${
            d.status === 'dead' || d.status === 'blocking'
              ? html`<input type="checkbox" name="ids" value="${d.id}" aria-label="select ${d.id}">`
              : ''
          }</td>`
        : ''
    }
<td class="num"><a href="${ctx.base}/dead-letters/${d.id}">${d.id}</a></td><td class="num">${d.entryId}</td>
<td><code>${d.namespace}</code></td><td><code>${d.target}</code></td>
<td><a href="${ctx.base}/keys${query({ namespace: d.namespace, key: d.key })}"><code class="key" title="${d.key}">${d.key}</code></a></td>
<td>${pill(d.status)}${outOfLog(d) ? html` <span class="muted" title="${GONE}">not in log</span>` : ''}</td><td class="num">${d.attempts}</td><td>${when(d.lastFailedAt)}</td>
<td class="mono">${d.lastError ?? ''}</td></tr>`,
  )}</tbody></table>`;
}

const GONE =
  'retention dropped its entry from the log, so it cannot be redriven; the copy below is all that is left, discard it to close it';

/** An open dead letter that redrive would leave open, its entry gone from the log. */
const outOfLog = (d: { status: DeadLetterStatus; inLog: boolean }) =>
  !d.inLog && (d.status === 'dead' || d.status === 'blocking');

export function deadLetterPage(ctx: PageContext, d: DeadLetterDetail): Page {
  const e = d.entry;
  const isOpen = d.status === 'dead' || d.status === 'blocking';
  const gone = outOfLog(d);
  const back = ctx.url.pathname;
  const body = html`<p><a href="${ctx.base}/dead-letters">← Dead letters</a></p>
<dl class="fields">
<dt>Status</dt><dd>${pill(d.status)}${d.status === 'blocking' ? html` <span class="muted">its key waits for an operator</span>` : ''}</dd>
<dt>Namespace / target</dt><dd><code>${d.namespace}</code> → <a href="${ctx.base}/targets/${encodeURIComponent(d.namespace)}/${encodeURIComponent(d.target)}"><code>${d.target}</code></a> (partition ${d.partition})</dd>
<dt>Key</dt><dd><a href="${ctx.base}/keys${query({ namespace: d.namespace, key: d.key })}"><code class="key" title="${d.key}">${d.key}</code></a></dd>
<dt>Entry</dt><dd>${d.entryId} · op <code>${String(e.op ?? '')}</code> · appended ${when(e.created_at as string)}${
    e.actor ? html` by <code>${String(e.actor)}</code>` : ''
  }</dd>
<dt>Transaction</dt><dd>${e.xid ? html`<a href="${ctx.base}/mutations/${String(e.xid)}">${String(e.xid)}</a>` : ''}</dd>
<dt>Attempts</dt><dd>${d.attempts}</dd>
<dt>First failed</dt><dd>${when(d.firstFailedAt)}</dd><dt>Last failed</dt><dd>${when(d.lastFailedAt)}</dd>
${d.resolvedAt ? html`<dt>Resolved</dt><dd>${when(d.resolvedAt)}</dd>` : ''}
<dt>Last error</dt><dd class="mono bad">${d.lastError ?? ''}</dd>
${gone ? html`<dt>In the log</dt><dd>no: ${GONE}</dd>` : ''}
</dl>
${
  isOpen && !ctx.readOnly
    ? html`<div class="actions">${gone ? '' : postForm(ctx, '/dead-letters/redrive', { ids: d.id, back }, 'Redrive')}
${postForm(ctx, '/dead-letters/discard', { ids: d.id, back }, 'Discard', {
  buttonClass: 'danger',
  confirm: `Discard dead letter ${d.id} for good?`,
})}</div>`
    : ''
}
<h2>Payload</h2><pre>${prettyJson(e.payload ?? null)}</pre>
${e.before !== null && e.before !== undefined ? html`<h2>Before</h2><pre>${prettyJson(e.before)}</pre>` : ''}
<h2>Headers</h2><pre>${prettyJson(e.headers ?? {})}</pre>`;
  return { title: `Dead letter ${d.id}`, body };
}
