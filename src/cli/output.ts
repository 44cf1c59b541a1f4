const MAX_CELL = 60;

/** Human-readable tables by default; with --json, one JSON document per command on stdout. */
export class Output {
  constructor(
    readonly json: boolean,
    /** Prepended to every line (the demo indents its tables). */
    private readonly indent = '',
  ) {}

  /** Prints `value` as JSON, or calls `human` to print it for people. */
  result<T>(value: T, human: (value: T) => void): void {
    if (this.json)
      this.line(JSON.stringify(value, null, 2)); // line() escapes what JSON.stringify leaves raw
    else human(value);
  }

  line(text = ''): void {
    process.stdout.write(`${terminalSafe(`${this.indent}${text}`).trimEnd()}\n`);
  }

  /** Rows as an aligned table of the given columns (default: the first row's keys). */
  table(rows: readonly object[], columns?: readonly string[]): void {
    if (rows.length === 0) {
      this.line('(none)');
      return;
    }
    const cols = columns ?? Object.keys(rows[0]!);
    const cells = rows.map((r) => cols.map((c) => cell((r as Record<string, unknown>)[c])));
    const widths = cols.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i]!.length)));
    const format = (row: readonly string[]) =>
      row
        .map((v, i) => v.padEnd(widths[i]!))
        .join('  ')
        .trimEnd();
    this.line(format(cols));
    this.line(format(widths.map((w) => '-'.repeat(w))));
    for (const row of cells) this.line(format(row));
  }

  /** One record as "field  value" lines. */
  record(value: object): void {
    const entries = Object.entries(value);
    const width = Math.max(...entries.map(([k]) => k.length));
    for (const [k, v] of entries) this.line(`${k.padEnd(width)}  ${cell(v, Number.POSITIVE_INFINITY)}`);
  }
}

export function cell(value: unknown, max = MAX_CELL): string {
  let text: string;
  if (value === null || value === undefined) text = '';
  else if (value instanceof Date) text = value.toISOString();
  else if (Array.isArray(value) && value.every((v) => typeof v === 'string')) text = value.join(',');
  else if (typeof value === 'object') text = JSON.stringify(value);
  else text = String(value);
  text = terminalSafe(text.replace(/\s+/g, ' '));
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/**
 * Characters a terminal may act on rather than show: C0 controls but tab and newline (ESC starts colour,
 * cursor and title sequences), DEL, C1 controls (U+009B is a one-byte CSI), line and paragraph separators,
 * and bidi overrides and isolates, which reorder what follows on the line. Keys, actors and payloads are
 * whatever producers wrote, so they are shown escaped, as \u001b.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

const escapeChar = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

/** `text` with every character a terminal could interpret written as a visible \uXXXX escape. */
export function terminalSafe(text: string): string {
  return text.replace(UNSAFE, escapeChar);
}
