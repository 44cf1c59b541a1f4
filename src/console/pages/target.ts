import type { TargetStatus } from '../../status.js';
import { html, query, when } from '../html.js';
import { type PageContext, pill, postForm } from '../layout.js';
import type { HeldKey } from '../queries.js';
import type { Page } from './page.js';

/** One target: its partitions, and the keys it holds back (blocked or retrying) with the entry at each head. */
export function targetPage(ctx: PageContext, t: TargetStatus, held: HeldKey[]): Page {
  const keyLink = (key: string) => `${ctx.base}/keys${query({ namespace: t.namespace, key })}`;
  const body = html`<p><a href="${ctx.base}/">← Overview</a> · namespace <code>${t.namespace}</code> ·
<a href="${ctx.base}/dead-letters${query({ namespace: t.namespace, target: t.target })}">dead letters of this target</a></p>
<h2>Blocked and retrying keys</h2>
${
  held.length === 0
    ? html`<p class="muted">No key is blocked or retrying at this target.</p>`
    : html`<table><thead><tr><th>State</th><th>Key</th><th class="num">Partition</th><th class="num">Held by entry</th>
<th>Op</th><th>Appended</th><th class="num">Attempts</th><th>Last error</th><th>Next attempt</th>
<th class="num">Waiting behind it</th><th></th></tr></thead><tbody>${held.map(
        (h) => html`<tr>
<td>${pill(h.blocked ? 'blocking' : 'retrying')}</td>
<td><a href="${keyLink(h.key)}"><code class="key" title="${h.key}">${h.key}</code></a></td>
<td class="num">${h.partition}</td>
<td class="num">${h.deadLetterId ? html`<a href="${ctx.base}/dead-letters/${h.deadLetterId}">${h.entryId}</a>` : h.entryId}</td>
<td>${h.op ?? ''}</td><td>${when(h.appendedAt)}</td><td class="num">${h.attempts}</td>
<td class="mono">${h.lastError ?? ''}</td>
<td>${h.blocked ? html`<span class="muted">waits for an operator</span>` : when(h.notBefore)}</td>
<td class="num">${h.behind}</td>
<td>${
          h.deadLetterId
            ? html`${postForm(ctx, '/dead-letters/redrive', { ids: h.deadLetterId, back: ctx.url.pathname }, 'Redrive')}
${postForm(ctx, '/dead-letters/discard', { ids: h.deadLetterId, back: ctx.url.pathname }, 'Discard', {
  buttonClass: 'danger',
  confirm: `Discard entry ${h.entryId} of key ${h.key} for good?`,
})}`
            : ''
        }</td></tr>`,
      )}</tbody></table>`
}
<h2>Partitions</h2>
<table><thead><tr><th class="num">Partition</th><th class="num">Pending</th><th>Oldest pending</th><th class="num">Parked</th>
<th class="num">Blocked</th><th class="num">Dead</th><th class="num">Batch failures</th><th>Retry at</th><th>Lease owner</th>
<th>Lease until</th><th class="num">Delivered</th><th>Last progress</th></tr></thead>
<tbody>${t.partitions.map(
    (p) => html`<tr><td class="num">${p.partition}</td><td class="num">${p.pending}${p.capped ? '+' : ''}</td>
<td>${when(p.oldestPendingAt)}</td><td class="num">${p.parked}</td><td class="num ${p.blocked > 0 ? 'bad' : ''}">${p.blocked}</td>
<td class="num ${p.dead > 0 ? 'bad' : ''}">${p.dead}</td><td class="num ${p.failures > 0 ? 'bad' : ''}">${p.failures}</td>
<td>${when(p.retryAt)}</td><td class="mono">${p.leaseOwner ?? ''}</td><td>${when(p.leaseUntil)}</td>
<td class="num">${p.delivered}</td><td>${when(p.updatedAt)}</td></tr>`,
  )}</tbody></table>`;
  return { title: `Target ${t.target} of ${t.namespace}`, body };
}
