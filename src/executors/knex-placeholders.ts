/**
 * walbox's SQL numbers its parameters ($1, $2, ...); knex.raw takes `?` placeholders in order (and reads `??`
 * as an identifier, `\?` as a literal question mark). Rewrites `text` for knex.raw: each $n outside string
 * literals, quoted identifiers, dollar quotes and comments becomes `?` with its value appended to the
 * bindings (a repeated $n is bound again), and every literal `?` (a jsonb operator, a `?` in a string) is
 * escaped. knex's pg client turns the result back into $1..$n.
 */
export function toKnexRaw(text: string, values: readonly unknown[]): { sql: string; bindings: unknown[] } {
  // knex's pg client reads the backslashes before a `?` as escapes: a literal `\?` cannot be sent through it.
  if (text.includes('\\?')) throw new TypeError('walbox: knex.raw cannot send a backslash before a "?"');
  const bindings: unknown[] = [];
  let sql = '';
  let i = 0;
  /** Copies text up to and including `end` (from `from`), escaping question marks; returns the new index. */
  const copyThrough = (from: number, end: string, backslashEscapes = false): number => {
    let j = from;
    while (j < text.length) {
      if (backslashEscapes && text[j] === '\\') {
        j += 2;
        continue;
      }
      if (text.startsWith(end, j)) {
        j += end.length;
        break;
      }
      j++;
    }
    sql += escapeQuestionMarks(text.slice(i, j));
    return j;
  };
  while (i < text.length) {
    const c = text[i]!;
    const next = text[i + 1];
    if (c === "'") {
      const escapes = /[eE]/.test(text[i - 1] ?? '') && !isIdentifierChar(text[i - 2]);
      i = copyThrough(i + 1, "'", escapes);
    } else if (c === '"') {
      i = copyThrough(i + 1, '"');
    } else if (c === '-' && next === '-') {
      i = copyThrough(i + 2, '\n');
    } else if (c === '/' && next === '*') {
      i = copyThrough(i + 2, '*/');
    } else if (c === '$' && !isIdentifierChar(text[i - 1])) {
      const param = /^\$(\d+)/.exec(text.slice(i, i + 12));
      const tag = param ? null : /^\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$/.exec(text.slice(i, i + 64));
      if (param) {
        const n = Number(param[1]);
        if (n < 1 || n > values.length) {
          throw new RangeError(`walbox: the query uses $${n} but has ${values.length} parameter(s)`);
        }
        const value = values[n - 1];
        bindings.push(value === undefined ? null : value);
        sql += '?';
        i += param[0].length;
      } else if (tag) {
        i = copyThrough(i + tag[0].length, tag[0]);
      } else {
        sql += c;
        i++;
      }
    } else {
      sql += c === '?' ? '\\?' : c;
      i++;
    }
  }
  return { sql, bindings };
}

function escapeQuestionMarks(s: string): string {
  return s.replaceAll('?', '\\?');
}

function isIdentifierChar(c: string | undefined): boolean {
  return c !== undefined && /[A-Za-z0-9_$]/.test(c);
}
