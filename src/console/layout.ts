import { type Html, html, trusted } from './html.js';

/** What every page is drawn with: where the console is mounted, the form token, and the mode. */
export interface PageContext {
  /** The console's base path ('' or '/walbox'); links are `${base}/dead-letters`. */
  base: string;
  csrf: string;
  readOnly: boolean;
  /** The nonce of this response's inline script (the Content-Security-Policy allows no other). */
  nonce: string;
  url: URL;
}

const NAV: readonly [string, string][] = [
  ['/', 'Overview'],
  ['/dead-letters', 'Dead letters'],
  ['/keys', 'Key history'],
  ['/mutations', 'Mutations'],
  ['/replay', 'Replay'],
];

const STYLE = `
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2330;background:#f5f6f8}
header{background:#1d2330;color:#fff;padding:0 24px;display:flex;align-items:center;gap:24px;height:48px}
header .brand{font-weight:600;font-size:16px;color:#fff;text-decoration:none}
header nav a{color:#c7cbd6;text-decoration:none;margin-right:16px}
header nav a.on{color:#fff;border-bottom:2px solid #6aa1ff;padding-bottom:12px}
header .mode{margin-left:auto;font-size:12px;background:#b45309;color:#fff;padding:2px 8px;border-radius:10px}
main{padding:20px 24px;max-width:1400px}
h1{font-size:20px;margin:0 0 16px}h2{font-size:16px;margin:24px 0 8px}
table{border-collapse:collapse;background:#fff;width:100%;border:1px solid #dde1e8}
th,td{text-align:left;padding:6px 10px;border-bottom:1px solid #eceef2;vertical-align:top}
th{background:#f0f2f5;font-weight:600;font-size:12px;color:#4a5263;white-space:nowrap}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px}
td code,time{white-space:nowrap}dd code,td.mono,dd.mono{white-space:normal;overflow-wrap:anywhere}
td code.key{display:inline-block;max-width:28em;overflow:hidden;text-overflow:ellipsis;vertical-align:bottom}
td.mono{min-width:16em}table.overview td{vertical-align:middle}
tr.group th{background:#fff;font-size:14px;color:#1d2330;padding-top:14px;border-bottom:1px solid #dde1e8}
table.overview td:first-child{padding-left:24px}
pre{background:#fff;border:1px solid #dde1e8;padding:10px;overflow:auto;max-height:420px;font-size:12.5px;margin:0}
a{color:#1f5fd6}.muted{color:#7a8194}
.bad{color:#b42318;font-weight:600}.warn{color:#b45309;font-weight:600}.ok{color:#067647}
.pill{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;background:#eceef2}
.pill.applied{background:#dcfae6;color:#067647}.pill.pending{background:#eceef2}
.pill.retrying{background:#fef0c7;color:#93370d}.pill.dead,.pill.blocking{background:#fee4e2;color:#b42318}
.pill.redriven,.pill.discarded{background:#e0eaff;color:#1f3f8f}
form.inline{display:inline}
form.filters{display:flex;gap:10px;align-items:flex-end;flex-wrap:wrap;margin-bottom:14px}
label{display:flex;flex-direction:column;font-size:12px;color:#4a5263;gap:3px}
input,select{font:inherit;padding:5px 8px;border:1px solid #c4c9d4;border-radius:4px;background:#fff}
button{font:inherit;padding:5px 12px;border-radius:4px;border:1px solid #1f5fd6;background:#1f5fd6;color:#fff;cursor:pointer}
button.secondary{background:#fff;color:#1f5fd6}button.danger{background:#fff;color:#b42318;border-color:#b42318}
.flash{padding:8px 12px;border-radius:4px;margin-bottom:14px;background:#dcfae6;border:1px solid #75e0a7}
.flash.error{background:#fee4e2;border-color:#fda29b}
.cards{display:flex;gap:12px;margin-bottom:16px;flex-wrap:wrap}
.card{background:#fff;border:1px solid #dde1e8;border-radius:6px;padding:10px 16px;min-width:140px}
.card b{display:block;font-size:22px}
.actions{display:flex;gap:8px;margin:10px 0}
dl.fields{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px;background:#fff;border:1px solid #dde1e8;padding:12px;margin:0}
dl.fields dt{color:#4a5263}dl.fields dd{margin:0}
svg.chart{display:block}svg.chart .pending{fill:#c7d7fe;stroke:#6aa1ff}svg.chart .rate{fill:none;stroke:#067647;stroke-width:1.5}
.legend{font-size:12px;color:#4a5263}.legend i{display:inline-block;width:10px;height:10px;margin:0 4px 0 10px;vertical-align:-1px}
`;

/** The whole document: header with navigation, the mode badge, a flash message, and the page. */
export function layout(ctx: PageContext, title: string, body: Html, flash?: Html): Html {
  const path = ctx.url.pathname.slice(ctx.base.length) || '/';
  const current = NAV.filter(([p]) => p === '/' || path.startsWith(p)).pop()?.[0];
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${title} · walbox console</title><style>${trusted(STYLE)}</style></head>
<body><header><a class="brand" href="${ctx.base}/">walbox</a><nav>${NAV.map(
    ([p, label]) => html`<a href="${ctx.base}${p}" class="${p === current ? 'on' : ''}">${label}</a>`,
  )}</nav>${ctx.readOnly ? html`<span class="mode" title="actions are disabled">read-only</span>` : ''}</header>
<main>${flash ?? ''}<h1>${title}</h1>${body}</main>
<script nonce="${ctx.nonce}">${trusted(SCRIPT)}</script></body></html>`;
}

// The only script: "select all" checkboxes, and a confirmation before an action that cannot be undone.
const SCRIPT = `document.querySelectorAll('input[data-all]').forEach(function(a){a.addEventListener('change',function(){document.querySelectorAll('input[name="'+a.dataset.all+'"]').forEach(function(c){c.checked=a.checked})})});
document.querySelectorAll('form[data-confirm]').forEach(function(f){f.addEventListener('submit',function(e){if(!confirm(f.dataset.confirm))e.preventDefault()})});
document.querySelectorAll('button[data-confirm]').forEach(function(b){b.addEventListener('click',function(e){if(!confirm(b.dataset.confirm))e.preventDefault()})});`;

/** A POST form carrying the CSRF token; nothing at all in read-only mode. */
export function postForm(
  ctx: PageContext,
  action: string,
  fields: Record<string, string>,
  button: Html | string,
  options: { className?: string; confirm?: string; buttonClass?: string } = {},
): Html {
  if (ctx.readOnly) return html``;
  return html`<form method="post" action="${ctx.base}${action}" class="${options.className ?? 'inline'}"${
    options.confirm ? html` data-confirm="${options.confirm}"` : ''
  }><input type="hidden" name="csrf" value="${ctx.csrf}">${Object.entries(fields).map(
    ([k, v]) => html`<input type="hidden" name="${k}" value="${v}">`,
  )}<button type="submit" class="${options.buttonClass ?? ''}">${button}</button></form>`;
}

export function pill(state: string): Html {
  return html`<span class="pill ${state}">${state}</span>`;
}

export function flashBox(message: string, error = false): Html {
  return html`<div class="flash${error ? ' error' : ''}" role="status">${message}</div>`;
}
