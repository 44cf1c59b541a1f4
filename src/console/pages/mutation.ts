import type { MutationStatus } from '../../mutations.js';
import { html, query, when } from '../html.js';
import { type PageContext, pill, postForm } from '../layout.js';
import type { Page } from './page.js';

/** A source transaction's entries, each at each of its targets: did the user's change reach every store? */
export function mutationPage(
  ctx: PageContext,
  transactionId: string | undefined,
  m: MutationStatus | undefined,
): Page {
  const form = html`<form class="filters" method="get" action="${ctx.base}/mutations">
<label>Transaction id<input name="tx" value="${transactionId ?? ''}" required pattern="[0-9]{1,20}" placeholder="transaction_id from the audit view"></label>
<button type="submit" class="secondary">Show</button></form>`;
  if (!m || transactionId === undefined) {
    return {
      title: 'Mutations',
      body: html`${form}<p class="muted">A mutation is every entry one source transaction appended. Open one from a key's history, or enter its transaction id.</p>`,
    };
  }
  const c = m.counts;
  const body = html`${form}
${
  !m.found
    ? html`<p class="muted">No entry of transaction ${transactionId} is in the log (a wrong id, or dropped by retention).</p>`
    : html`<div class="cards">
<div class="card"><span class="muted">State</span><b class="${m.complete ? 'ok' : 'warn'}">${m.complete ? 'complete' : 'incomplete'}</b></div>
<div class="card"><span class="muted">Applied</span><b>${c.applied}</b></div><div class="card"><span class="muted">Pending</span><b>${c.pending}</b></div>
<div class="card"><span class="muted">Retrying</span><b class="${c.retrying > 0 ? 'warn' : ''}">${c.retrying}</b></div>
<div class="card"><span class="muted">Dead</span><b class="${c.dead > 0 ? 'bad' : ''}">${c.dead}</b></div></div>
<table><thead><tr><th class="num">Entry</th><th>Namespace</th><th>Key</th><th>Op</th><th>Target</th><th>State</th>
<th class="num">Attempts</th><th>Last error</th><th>Next attempt</th></tr></thead><tbody>${m.parts.map(
        (p) => html`<tr><td class="num">${p.entryId}</td><td><code>${p.namespace}</code></td>
<td><a href="${ctx.base}/keys${query({ namespace: p.namespace, key: p.key })}"><code class="key" title="${p.key}">${p.key}</code></a></td>
<td><code>${p.op}</code></td><td><code>${p.target}</code></td><td>${pill(p.state)}</td><td class="num">${p.attempts}</td>
<td class="mono">${p.lastError ?? ''}</td><td>${when(p.nextAttemptAt)}</td></tr>`,
      )}</tbody></table>
${
  ctx.readOnly
    ? ''
    : html`<h2>Replay this mutation</h2><p class="muted">Queues every entry of the transaction again at each of its targets, ahead of newer entries of the same keys.</p>
${postForm(ctx, '/replay', { transactionId, back: ctx.url.pathname }, 'Replay to every target', {
  confirm: `Replay transaction ${transactionId} to every target?`,
})}`
}`
}`;
  return { title: `Mutation ${transactionId}`, body };
}
