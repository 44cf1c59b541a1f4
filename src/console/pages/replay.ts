import { html } from '../html.js';
import type { PageContext } from '../layout.js';
import type { Page } from './page.js';

/** Re-deliver a range of one namespace's log to one target, or one source transaction. */
export function replayPage(
  ctx: PageContext,
  namespaces: { name: string; targets: readonly string[] }[],
): Page {
  if (ctx.readOnly) {
    return {
      title: 'Replay',
      body: html`<p class="muted">This console is read-only: replay is disabled. Use <code>walbox replay</code>, or a console started without <code>--read-only</code>.</p>`,
    };
  }
  const targets = [...new Set(namespaces.flatMap((n) => n.targets))].sort();
  const body = html`<p class="muted">For recovery: restore a store from a backup, then replay the log from the backup's point.
Entries are queued ahead of newer entries of the same keys and applied in log order per key; sinks' version guards skip what a store already has.</p>
<h2>A range of the log, to one target</h2>
<form method="post" action="${ctx.base}/replay" class="filters" data-confirm="Replay this range?">
<input type="hidden" name="csrf" value="${ctx.csrf}">
<label>Namespace<select name="namespace" required>${namespaces.map((n) => html`<option value="${n.name}">${n.name}</option>`)}</select></label>
<label>Target<input name="target" required list="targets" placeholder="e.g. cache"></label>
<datalist id="targets">${targets.map((t) => html`<option value="${t}">`)}</datalist>
<label>From entry id<input name="from" required pattern="[0-9]{1,19}" inputmode="numeric"></label>
<label>To entry id (optional)<input name="to" pattern="[0-9]{1,19}" inputmode="numeric" placeholder="the newest"></label>
<label>Exclude entry ids<input name="exclude" pattern="[0-9, ]*" placeholder="e.g. 1042, 1043"></label>
<button type="submit">Replay range</button></form>
<h2>One mutation (source transaction)</h2>
<form method="post" action="${ctx.base}/replay" class="filters" data-confirm="Replay this transaction?">
<input type="hidden" name="csrf" value="${ctx.csrf}">
<label>Transaction id<input name="transactionId" required pattern="[0-9]{1,20}" inputmode="numeric"></label>
<label>Only target (optional)<input name="target" list="targets" placeholder="every target"></label>
<button type="submit">Replay mutation</button></form>`;
  return { title: 'Replay', body };
}
