const MAX_CELL = 60;

/** One line on stdout, without trailing blanks. */
export function line(text = ''): void {
  process.stdout.write(`${text.trimEnd()}\n`);
}

/** Rows as an aligned table of the first row's columns, every line indented. */
export function table(rows: readonly object[], indent: string): void {
  if (rows.length === 0) {
    line(`${indent}(none)`);
    return;
  }
  const cols = Object.keys(rows[0]!);
  const cells = rows.map((r) => cols.map((c) => cell((r as Record<string, unknown>)[c])));
  const widths = cols.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i]!.length)));
  const format = (row: readonly string[]) => indent + row.map((v, i) => v.padEnd(widths[i]!)).join('  ');
  line(format(cols));
  line(format(widths.map((w) => '-'.repeat(w))));
  for (const row of cells) line(format(row));
}

/** A value on one line, cut at `max` characters: JSON for objects, nothing for null. */
export function cell(value: unknown, max = MAX_CELL): string {
  const text =
    value === null || value === undefined
      ? ''
      : typeof value === 'object'
        ? JSON.stringify(value)
        : String(value);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
