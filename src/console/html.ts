/**
 * HTML built by a tagged template that escapes every interpolated value, so that a hostile key, payload or
 * actor is shown as text and never parsed as markup. Markup that is already safe (a fragment built by `html`
 * itself) is wrapped in `Html` and passes through unchanged.
 */
export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
  '`': '&#96;',
};

/** Text made safe for element content and quoted attribute values. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"'`]/g, (c) => ESCAPES[c]!);
}

type Part = Html | string | number | boolean | null | undefined | readonly Part[];

function render(part: Part): string {
  if (part === null || part === undefined || part === false) return '';
  if (part instanceof Html) return part.text;
  if (Array.isArray(part)) return part.map(render).join('');
  return escapeHtml(String(part));
}

export function html(strings: TemplateStringsArray, ...values: Part[]): Html {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += render(values[i]!) + strings[i + 1]!;
  return new Html(out);
}

/** Markup the caller vouches for (constant strings, or the SVG chart built from numbers). */
export function trusted(text: string): Html {
  return new Html(text);
}

/** A query string from the non-empty values, for links: `?namespace=a&key=b`. */
export function query(params: Record<string, string | number | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params))
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s === '' ? '' : `?${s}`;
}

/**
 * "2026-11-30 14:50:01Z": UTC, to the second, the same for every operator whatever their time zone; the
 * element's title says how long ago.
 */
export function when(date: Date | string | null | undefined, now = Date.now()): Html {
  if (date === null || date === undefined) return new Html('');
  const d = typeof date === 'string' ? new Date(date) : date;
  const ago = now - d.getTime();
  const title = ago >= 0 ? `${duration(ago)} ago` : `in ${duration(-ago)}`;
  return html`<time datetime="${d.toISOString()}" title="${title}">${d.toISOString().slice(0, 19).replace('T', ' ')}Z</time>`;
}

/** 850 ms, 12.3 s, 4m05s, 3h02m, 2d04h (as `walbox status` prints lag). */
export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const pad = (n: number) => String(Math.floor(n)).padStart(2, '0');
  if (s < 3600) return `${Math.floor(s / 60)}m${pad(s % 60)}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h${pad((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86_400)}d${pad((s % 86_400) / 3600)}h`;
}

/** JSON for a <pre>, cut at `max` characters so that one huge payload cannot make the page unusable. */
export function prettyJson(value: unknown, max = 20_000): string {
  const text = value === undefined ? '' : JSON.stringify(value, null, 2);
  return text.length > max ? `${text.slice(0, max)}\n… (${text.length - max} more characters)` : text;
}
