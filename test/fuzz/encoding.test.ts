// The encoding of entries without a database: encodeJson never throws whatever it is given (any depth,
// cycles, throwing toJSON), and what it accepts is JSON Postgres stores as sent; the limits are configurable
// downwards only, and encodeEntry applies the configured ones.
import fc from 'fast-check';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { DEFAULT_ENTRY_LIMITS, encodeEntry } from '../../src/entry-encoding.js';
import { type InvalidConfigError, InvalidEntryError } from '../../src/errors.js';
import { encodeJson, unstorableText } from '../../src/json-value.js';
import { resolveNamespaceConfig } from '../../src/namespace-config.js';
import { resolveWalboxConfig } from '../../src/walbox-config.js';
import { FUZZ_TIMEOUT_MS, fuzzRuns, hostileJson, hostileString, nested } from './arbitraries.js';

/** Arrays and objects nested in a parsed JSON value, counted without recursion. */
function depthOf(root: unknown): number {
  let max = 0;
  const stack: [unknown, number][] = [[root, 0]];
  while (stack.length > 0) {
    const [v, d] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    max = Math.max(max, d + 1);
    for (const child of Object.values(v)) stack.push([child, d + 1]);
  }
  return max;
}

const anyValue = fc.oneof(
  hostileJson,
  fc.anything({ maxDepth: 3, withBigInt: true, withDate: true, withMap: true, withNullPrototype: true }),
  fc.dictionary(hostileString(4), hostileJson, { maxKeys: 3 }),
);

describe('encodeJson', () => {
  it(
    'never throws; accepts only JSON that round-trips, at most 100 deep, without unstorable text',
    () => {
      fc.assert(
        fc.property(anyValue, (value) => {
          const encoded = encodeJson(value);
          if (!encoded.ok) {
            expect(encoded.path.startsWith('$')).toBe(true);
            expect(['not-json', 'unstorable']).toContain(encoded.kind);
            return;
          }
          const parsed = JSON.parse(encoded.text);
          expect(depthOf(parsed)).toBeLessThanOrEqual(100);
          expect(unstorableText(encoded.text)).toBeUndefined();
          expect(encoded.text).not.toMatch(/(?<!\\)(?:\\\\)*\\u(?:0000|d[89a-f])/i);
          expect(JSON.stringify(parsed)).toBe(encoded.text);
        }),
        fuzzRuns(300),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it.each([100, 101, 5_000, 1_000_000])('nesting %i deep: no RangeError, refused past 100', (depth) => {
    const encoded = encodeJson(nested(depth));
    expect(encoded.ok).toBe(depth <= 100);
    if (!encoded.ok) expect(encoded).toMatchObject({ kind: 'unstorable' });
  });

  it('a toJSON or getter that throws is a problem at the root, not an exception', () => {
    const bad = {
      toJSON() {
        throw new Error('boom');
      },
    };
    expect(encodeJson({ a: bad })).toMatchObject({ ok: false, kind: 'not-json' });
    const getter = Object.defineProperty({}, 'x', {
      enumerable: true,
      get() {
        throw new Error('boom');
      },
    });
    expect(encodeJson(getter)).toMatchObject({ ok: false, path: '$' });
  });
});

describe('configured limits', () => {
  const pool = new pg.Pool({ connectionString: 'postgres://localhost/none' });
  pool.on('error', () => {});
  const ns = resolveNamespaceConfig({ name: 'n' });

  it('default to the SQL ceilings, and may be lowered but not raised', () => {
    expect(resolveWalboxConfig({ pool }).limits).toEqual(DEFAULT_ENTRY_LIMITS);
    expect(resolveWalboxConfig({ pool, limits: { maxKeyBytes: 64 } }).limits.maxKeyBytes).toBe(64);
    for (const [field, value] of [
      ['maxKeyBytes', 513],
      ['maxIdempotencyKeyBytes', 513],
      ['maxJsonDepth', 101],
      ['maxDelayMs', DEFAULT_ENTRY_LIMITS.maxDelayMs + 1],
      ['maxBatchEntries', 0],
      ['maxBatchBytes', 1],
      ['maxKeyByte', 5],
    ] as const) {
      expect(() => resolveWalboxConfig({ pool, limits: { [field]: value } as never })).toThrow(
        expect.objectContaining({ field: `limits.${field}` }) as unknown as InvalidConfigError,
      );
    }
  });

  it('encodeEntry applies the limits it is given', () => {
    const limits = { ...DEFAULT_ENTRY_LIMITS, maxKeyBytes: 4, maxJsonDepth: 2, maxDelayMs: 1000 };
    const entry = { namespace: 'n', key: 'k', op: 'upsert' };
    expect(() => encodeEntry({ ...entry, key: 'kkkkk' }, ns, undefined, limits)).toThrow(InvalidEntryError);
    expect(() => encodeEntry({ ...entry, payload: [[[1]]] }, ns, undefined, limits)).toThrow(/deep/);
    expect(() => encodeEntry({ ...entry, delay: { ms: 1001 } }, ns, undefined, limits)).toThrow(/delay/);
    expect(encodeEntry({ ...entry, key: 'kkkk', payload: [[1]] }, ns, undefined, limits)).toContain('"kkkk"');
  });
});
