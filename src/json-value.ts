/** Deepest nesting of arrays and objects walbox stores (see DEFAULT_ENTRY_LIMITS in entry-encoding.ts). */
export const MAX_JSON_DEPTH = 100;

/**
 * The JSON text, or where and why not: `kind` 'not-json' for values JSON cannot represent, 'unstorable' for
 * JSON Postgres refuses (NUL, lone surrogates) or walbox does (nesting deeper than the limit).
 */
export type EncodedJson =
  | { ok: true; text: string }
  | { ok: false; path: string; reason: string; kind: 'not-json' | 'unstorable' };
type Problem = { path: string; reason: string; kind: 'not-json' | 'unstorable' };

/**
 * A `\u0000` escape or an escaped UTF-16 surrogate in JSON.stringify's output, not preceded by an escaped
 * backslash. JSON.stringify escapes NUL as `\u0000` and a lone surrogate as `\udXXX` (it writes a paired one
 * as is), and Postgres refuses both in jsonb and text (22P05, 22P02), aborting the caller's transaction.
 */
const UNSTORABLE_ESCAPE = /(?<!\\)(?:\\\\)*\\u(?:0000|d[89a-f])/i;
/** A NUL, or a surrogate that is not half of a pair, in a JavaScript string. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is what it looks for.
const UNSTORABLE_TEXT = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Why Postgres cannot store `text` (a string of an entry or of its JSON), or undefined when it can. */
export function unstorableText(text: string): string | undefined {
  const found = UNSTORABLE_TEXT.exec(text);
  if (!found) return undefined;
  return found[0] === '\u0000'
    ? 'contains \\u0000 (NUL), which Postgres cannot store in text or jsonb'
    : `contains a lone UTF-16 surrogate (\\u${found[0].charCodeAt(0).toString(16)}), which is not valid Unicode`;
}

/**
 * Encodes a value as JSON that Postgres stores as sent, refusing what JSON.stringify would silently drop or
 * mangle (functions, symbols, undefined inside arrays, NaN/Infinity) or throw on (BigInt, cycles, nesting
 * deep enough to overflow the stack), nesting deeper than `maxDepth` arrays and objects, and strings
 * Postgres refuses (NUL, lone surrogates). Returns the text, or the path of the first problem and why.
 * Never throws: a toJSON or a getter that throws is reported as a problem at the root.
 */
export function encodeJson(value: unknown, maxDepth = MAX_JSON_DEPTH): EncodedJson {
  try {
    if (!isPlainJson(value, maxDepth)) {
      // Slow path, only for values the fast check refused: find the exact path and reason.
      const problem = findProblem(value, maxDepth, false);
      if (problem) return { ok: false, ...problem };
    }
    // Depth is bounded by now, so JSON.stringify's recursion is too.
    const text = JSON.stringify(value);
    if (UNSTORABLE_ESCAPE.test(text)) {
      const problem = findProblem(value, maxDepth, true);
      const unknown: Problem = { path: '$', reason: 'holds text Postgres cannot store', kind: 'unstorable' };
      return { ok: false, ...(problem ?? unknown) };
    }
    return { ok: true, text };
  } catch (err) {
    const reason = `serializing it threw: ${(err as Error)?.message ?? err}`;
    return { ok: false, path: '$', reason, kind: 'not-json' };
  }
}

interface Visit {
  value: unknown;
  path: string;
  /** Arrays and objects around this value. */
  depth: number;
  /** Set once toJSON was applied: JSON.stringify calls it once per value, not on what it returns. */
  converted?: boolean;
  /** Leaving `value`'s subtree: it is no longer an ancestor (cycle detection). */
  leave?: object;
}

/**
 * The first problem in document order, walked with an explicit stack (no recursion, whatever the nesting).
 * With `text`, strings and property names are checked for what Postgres cannot store.
 */
function findProblem(root: unknown, maxDepth: number, text: boolean): Problem | undefined {
  const notJson = (path: string, reason: string): Problem => ({ path, reason, kind: 'not-json' });
  const unstorable = (path: string, reason: string): Problem => ({ path, reason, kind: 'unstorable' });
  const ancestors = new Set<object>();
  const stack: Visit[] = [{ value: root, path: '$', depth: 0 }];
  while (stack.length > 0) {
    const visit = stack.pop()!;
    if (visit.leave) {
      ancestors.delete(visit.leave);
      continue;
    }
    const { value, path, depth } = visit;
    switch (typeof value) {
      case 'string': {
        const why = text ? unstorableText(value) : undefined;
        if (why) return unstorable(path, why);
        continue;
      }
      case 'boolean':
        continue;
      case 'number':
        if (Number.isFinite(value)) continue;
        return notJson(path, `${value} is not a JSON number`);
      case 'bigint':
        return notJson(path, 'BigInt is not JSON (convert it to a string)');
      case 'function':
        return notJson(path, 'a function is not JSON');
      case 'symbol':
        return notJson(path, 'a symbol is not JSON');
      case 'undefined':
        return notJson(path, 'undefined is not JSON (use null)');
    }
    if (value === null) continue;
    const obj = value as object;
    if (!visit.converted && typeof (obj as { toJSON?: unknown }).toJSON === 'function') {
      // Dates and friends: checked as what they serialize to.
      stack.push({ value: (obj as { toJSON(): unknown }).toJSON(), path, depth, converted: true });
      continue;
    }
    if (ancestors.has(obj)) return notJson(path, 'a cycle: this object contains itself');
    if (depth >= maxDepth) {
      return unstorable(path, `nested more than ${maxDepth} arrays and objects deep (the limit)`);
    }
    const children: Visit[] = [];
    if (Array.isArray(obj)) {
      for (let i = 0; i < obj.length; i++) {
        children.push({ value: obj[i], path: `${path}[${i}]`, depth: depth + 1 });
      }
    } else {
      const proto = Object.getPrototypeOf(obj);
      if (proto !== Object.prototype && proto !== null) {
        return notJson(path, `a ${proto?.constructor?.name ?? 'class'} instance is not plain JSON`);
      }
      for (const [k, v] of Object.entries(obj)) {
        const at = `${path}${/^[A-Za-z_$][\w$]*$/.test(k) ? `.${k}` : `[${JSON.stringify(k)}]`}`;
        const why = text ? unstorableText(k) : undefined;
        if (why) return unstorable(at, `its property name ${why}`);
        // JSON.stringify omits undefined properties; that is the one silent drop we accept, as everyone does.
        if (v !== undefined) children.push({ value: v, path: at, depth: depth + 1 });
      }
    }
    ancestors.add(obj);
    stack.push({ value: undefined, path, depth, leave: obj });
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]!);
  }
  return undefined;
}

/**
 * The append hot path: true for the common case (plain objects, arrays, strings, finite numbers, booleans,
 * null, valid Dates) at most `maxDepth` deep, without building paths or tracking cycles (the depth cap stops
 * a cycle). An explicit stack, so that nesting of any depth is refused instead of overflowing the call stack.
 */
function isPlainJson(root: unknown, maxDepth: number): boolean {
  const values: unknown[] = [root];
  const depths: number[] = [0];
  while (values.length > 0) {
    const value = values.pop();
    const depth = depths.pop()!;
    switch (typeof value) {
      case 'string':
      case 'boolean':
        continue;
      case 'number':
        if (Number.isFinite(value)) continue;
        return false;
      case 'object': {
        if (value === null) continue;
        if (value instanceof Date) {
          if (Number.isNaN(value.getTime())) return false;
          continue;
        }
        if (depth >= maxDepth) return false;
        if (Array.isArray(value)) {
          for (const item of value) {
            values.push(item);
            depths.push(depth + 1);
          }
          continue;
        }
        const proto = Object.getPrototypeOf(value);
        if (proto !== Object.prototype && proto !== null) return false;
        if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return false;
        for (const key in value) {
          const v = (value as Record<string, unknown>)[key];
          if (v === undefined) continue;
          values.push(v);
          depths.push(depth + 1);
        }
        continue;
      }
      default:
        return false;
    }
  }
  return true;
}
