import type { TargetStatus } from '../../status.js';
import { historyChart } from '../chart.js';
import type { StatusHistory } from '../history.js';
import { duration, html, query } from '../html.js';
import type { PageContext } from '../layout.js';
import type { Page } from './page.js';

/** Every namespace and target: what is behind, how fast it moves, what is failing, and a recent history. */
export function overviewPage(ctx: PageContext, targets: TargetStatus[], history: StatusHistory): Page {
  const byNamespace = new Map<string, TargetStatus[]>();
  for (const t of targets) byNamespace.set(t.namespace, [...(byNamespace.get(t.namespace) ?? []), t]);
  const sum = (f: (t: TargetStatus) => number) => targets.reduce((n, t) => n + f(t), 0);
  const failing = sum((t) => t.failing);
  const dead = sum((t) => t.dead);
  const blocked = sum((t) => t.blocked);
  const body = html`<div class="cards">
  <div class="card"><span class="muted">Namespaces</span><b>${byNamespace.size}</b></div>
  <div class="card"><span class="muted">Targets</span><b>${targets.length}</b></div>
  <div class="card"><span class="muted">Pending</span><b>${sum((t) => t.pending)}</b></div>
  <div class="card"><span class="muted">Blocked keys</span><b class="${blocked > 0 ? 'bad' : ''}">${blocked}</b></div>
  <div class="card"><span class="muted">Open dead letters</span><b class="${dead > 0 ? 'bad' : ''}"><a href="${ctx.base}/dead-letters">${dead}</a></b></div>
  <div class="card"><span class="muted">Failing partitions</span><b class="${failing > 0 ? 'bad' : ''}">${failing}</b></div>
</div>
<p class="legend">History: <i style="background:#c7d7fe;border:1px solid #6aa1ff"></i>pending
<i style="background:#067647"></i>delivered per second — sampled every few seconds while the console is open.</p>
${
  targets.length === 0
    ? html`<p class="muted">No namespace has targets yet (<code>walbox namespaces upsert NAME --targets a,b</code>).</p>`
    : html`<table class="overview"><thead><tr><th>Target</th><th class="num">Pending</th><th class="num">Lag</th>
<th class="num" title="entries delivered per second, over the last minute">Delivered/s</th><th class="num">Parked</th><th class="num">Blocked</th><th class="num">Dead</th>
<th class="num">Failing partitions</th><th class="num">Draining</th><th class="num">Delivered</th><th>History</th></tr></thead>
<tbody>${[...byNamespace].map(
        ([
          namespace,
          ts,
        ]) => html`<tr class="group"><th colspan="11">Namespace <code>${namespace}</code></th></tr>
${ts.map((t) => targetRow(ctx, t, history))}`,
      )}</tbody></table>`
}`;
  return { title: 'Overview', body };
}

function targetRow(ctx: PageContext, t: TargetStatus, history: StatusHistory) {
  const rate = history.throughput(t.namespace, t.target);
  const link = `${ctx.base}/targets/${encodeURIComponent(t.namespace)}/${encodeURIComponent(t.target)}`;
  const deadLink = `${ctx.base}/dead-letters${query({ namespace: t.namespace, target: t.target })}`;
  return html`<tr>
<td><a href="${link}"><code>${t.target}</code></a></td>
<td class="num">${t.pending}${t.capped ? '+' : ''}</td>
<td class="num ${t.lagMs > 60_000 ? 'warn' : ''}">${t.pending > 0 ? duration(t.lagMs) : '—'}</td>
<td class="num">${rate === undefined ? '—' : rate.toFixed(1)}</td>
<td class="num">${t.parked > 0 ? html`<a href="${link}">${t.parked}</a>` : 0}</td>
<td class="num ${t.blocked > 0 ? 'bad' : ''}">${t.blocked > 0 ? html`<a href="${link}">${t.blocked}</a>` : 0}</td>
<td class="num ${t.dead > 0 ? 'bad' : ''}">${t.dead > 0 ? html`<a href="${deadLink}">${t.dead}</a>` : 0}</td>
<td class="num ${t.failing > 0 ? 'bad' : ''}">${t.failing} / ${t.partitions.length}</td>
<td class="num">${t.draining} / ${t.partitions.length}</td>
<td class="num">${t.delivered}</td>
<td>${historyChart(history.series(t.namespace, t.target))}</td></tr>`;
}
