import type { AuditRow } from '../../audit.js';
import { html, prettyJson, query, when } from '../html.js';
import { type PageContext, pill } from '../layout.js';
import type { Page } from './page.js';

/** One key's changes from the audit view, newest last, with where each stands at each of its targets. */
export function keyHistoryPage(
  ctx: PageContext,
  namespaces: string[],
  selected: { namespace?: string; key?: string },
  rows: AuditRow[] | undefined,
): Page {
  const body = html`<form class="filters" method="get" action="${ctx.base}/keys">
<label>Namespace<select name="namespace"><option value="">any</option>${namespaces.map(
    (n) => html`<option value="${n}"${n === selected.namespace ? html` selected` : ''}>${n}</option>`,
  )}</select></label>
<label>Key<input name="key" value="${selected.key ?? ''}" required placeholder="e.g. user:42"></label>
<button type="submit" class="secondary">Show history</button></form>
${
  rows === undefined
    ? html`<p class="muted">Enter a key to see every change made to it, who made it, and whether each target applied it.</p>`
    : rows.length === 0
      ? html`<p class="muted">No entry for this key (or retention dropped it).</p>`
      : html`<table><thead><tr><th class="num">Entry</th><th>Changed</th><th>Namespace</th><th>Op</th><th>Actor</th>
<th>Transaction</th><th>Delivery</th><th>Change</th></tr></thead><tbody>${[...rows].reverse().map(
          (
            r,
          ) => html`<tr><td class="num">${r.id}</td><td>${when(r.changed_at)}</td><td><code>${r.namespace}</code></td>
<td><code>${r.op}</code></td><td>${r.actor ?? html`<span class="muted">—</span>`}</td>
<td><a href="${ctx.base}/mutations/${r.transaction_id}">${r.transaction_id}</a></td>
<td>${Object.entries(r.delivery ?? {}).map(
            ([target, state]) =>
              html`<div><a href="${ctx.base}/targets/${encodeURIComponent(r.namespace)}/${encodeURIComponent(target)}"><code>${target}</code></a> ${
                state === 'dead'
                  ? html`<a href="${ctx.base}/dead-letters${query({ namespace: r.namespace, target, key: r.key, status: 'all' })}">${pill(state)}</a>`
                  : pill(state)
              }</div>`,
          )}</td>
<td>${change(r)}</td></tr>`,
        )}</tbody></table><p class="muted">${rows.length === 1 ? 'One change.' : `The newest ${rows.length} changes, newest first.`}</p>`
}`;
  return { title: selected.key ? `History of key ${selected.key}` : 'Key history', body };
}

/** The new value in one line (the whole of it, and the old one, when unfolded). */
function change(r: AuditRow) {
  const after = r.after === undefined ? null : r.after;
  const line = JSON.stringify(after) ?? 'null';
  const short = line.length > 70 ? `${line.slice(0, 70)}…` : line;
  const hasBefore = r.before !== null && r.before !== undefined;
  return html`<details><summary><code>${short}</code></summary>${hasBefore ? html`<div class="muted">after</div>` : ''}<pre>${prettyJson(after, 5000)}</pre>${
    hasBefore ? html`<div class="muted">before</div><pre>${prettyJson(r.before, 5000)}</pre>` : ''
  }</details>`;
}
