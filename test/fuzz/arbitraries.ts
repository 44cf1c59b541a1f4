// Generators of hostile input for the fuzz properties, and their run settings: a fixed seed and a few runs
// in `npm test`; `npm run test:fuzz` sets WALBOX_FUZZ_RUNS (and a seed of its own unless WALBOX_FUZZ_SEED).
import fc from 'fast-check';
import type { EntryInput } from '../../src/entry.js';
import { unstorableText } from '../../src/json-value.js';

const runs = Number(process.env.WALBOX_FUZZ_RUNS ?? '') || 0;
const seed = Number(process.env.WALBOX_FUZZ_SEED ?? '') || (runs > 0 ? Date.now() % 2 ** 31 : 20261130);

/** A test's timeout: vitest's 60 s for the few runs of `npm test`, half an hour for `npm run test:fuzz`. */
export const FUZZ_TIMEOUT_MS = runs > 0 ? 30 * 60_000 : 60_000;

/** fast-check settings: `runs` in `npm test` (fixed seed), WALBOX_FUZZ_RUNS under `npm run test:fuzz`. */
export const fuzzRuns = (fewRuns: number): fc.Parameters<unknown> => ({
  seed,
  numRuns: runs > 0 ? Math.max(runs, fewRuns) : fewRuns,
  endOnFailure: true,
});

/** Characters Postgres or SQL text may choke on, mixed into ordinary ones. */
const specials = [
  '\u0000',
  '\ud800',
  '\udbff',
  '\udc00',
  '\udfff',
  '😀',
  '\\',
  '\\u0000',
  '"',
  "'",
  ';',
  '.',
  '-',
  '\n',
  '\u001b',
  'é',
  'Δ',
  '𝄞',
];
const unit = fc.oneof(
  { weight: 2, arbitrary: fc.constantFrom(...specials) },
  { weight: 3, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
  { weight: 5, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }) },
);

export const hostileString = (maxLength = 12) => fc.string({ unit, maxLength });

/** Names for schemas, namespaces, targets, tables and columns: valid, nearly valid, and hostile. */
export const hostileName = fc.oneof(
  fc.constantFrom(
    'users',
    'a.b',
    'public.t',
    'a.b.c',
    'Users',
    'x"; drop table y; --',
    "o'k",
    'naïve',
    'a;b',
    'a b',
    '',
    '.',
    '1a',
    '_a',
    'a-b',
    'é',
    `n${'x'.repeat(62)}`,
    `n${'x'.repeat(63)}`,
    'a\u0000',
  ),
  fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9_.;"' -]{0,64}$/),
  hostileString(16),
);

export const nested = (depth: number, leaf: unknown = 1): unknown => {
  let v = leaf;
  for (let i = 0; i < depth; i++) v = i % 2 ? { a: v } : [v];
  return v;
};

const cycle: Record<string, unknown> = {};
cycle.self = cycle;

/** Payload-like values: random JSON with hostile strings, deep nesting, large strings, non-JSON values. */
export const hostileJson = fc.oneof(
  { weight: 10, arbitrary: fc.jsonValue({ stringUnit: unit, maxDepth: 4 }) },
  { weight: 2, arbitrary: fc.integer({ min: 95, max: 3000 }).map((d) => nested(d)) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 3 }).map((n) => 'x'.repeat(n * 400_000)) },
  {
    weight: 1,
    arbitrary: fc.constantFrom<unknown>(
      Number.NaN,
      Number.POSITIVE_INFINITY,
      10n,
      () => 1,
      new Map([[1, 2]]),
      Symbol('s'),
      cycle,
      [undefined],
      new Date(0),
    ),
  },
);

const DAY = 86_400_000;

/** Characters Postgres stores: the specials less NUL and lone surrogates. */
const storableUnit = fc.oneof(
  { weight: 2, arbitrary: fc.constantFrom(...specials.filter((c) => unstorableText(c) === undefined)) },
  { weight: 3, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
  { weight: 5, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }) },
);
const storable = (maxLength: number) => fc.string({ unit: storableUnit, minLength: 1, maxLength });
const storableJson = fc.jsonValue({ stringUnit: storableUnit, maxDepth: 4 });

/** A valid entry of namespace 'fz' (targets t1, t2; 1 MiB) or 'fz-small' (t1; 2 KiB), fields of any kind. */
const validEntry = fc.record(
  {
    namespace: fc.constantFrom('fz', 'fz-small'),
    key: storable(16),
    op: fc.oneof(fc.constantFrom('upsert', 'delete'), storable(20)),
    payload: storableJson,
    before: storableJson,
    headers: fc.dictionary(storable(6), storableJson, { maxKeys: 3 }),
    targets: fc.constantFrom(['t1']),
    delay: fc.record({ ms: fc.nat(5000), jitterMs: fc.nat(5000) }, { requiredKeys: ['ms'] }),
    idempotencyKey: storable(16),
    actor: storable(16),
  },
  { requiredKeys: ['namespace', 'key', 'op'] },
);

/** One field set to something hostile: wrong types, too large, too deep, unstorable, out of range. */
const hostileField = fc.oneof(
  fc.record({ namespace: hostileName }),
  fc.record({
    key: fc.oneof(
      hostileString(),
      fc.integer({ min: 100, max: 700 }).map((n) => 'é'.repeat(n)),
      fc.constantFrom<unknown>(null, 42, ''),
    ),
  }),
  fc.record({ op: hostileString(70) }),
  fc.record({ payload: hostileJson }),
  fc.record({ before: hostileJson }),
  fc.record({
    headers: fc.oneof(
      fc.dictionary(hostileString(6), fc.jsonValue({ stringUnit: unit, maxDepth: 2 }), { maxKeys: 3 }),
      fc.constantFrom<unknown>(null, [], 'x'),
    ),
  }),
  fc.record({ targets: fc.oneof(fc.array(hostileName, { maxLength: 2 }), fc.constant('t1')) }),
  fc.record({
    delay: fc.record(
      {
        ms: fc.oneof(fc.integer({ min: -10, max: 400 * DAY }), fc.double()),
        jitterMs: fc.integer({ min: -1, max: 400 * DAY }),
      },
      { requiredKeys: ['ms'] },
    ),
  }),
  fc.record({
    deliverAt: fc.oneof(
      fc.date({ noInvalidDate: false }),
      fc.integer({ min: -400, max: 400 }).map((d) => new Date(Date.now() + d * DAY)),
    ),
  }),
  fc.record({ idempotencyKey: fc.oneof(hostileString(), fc.constantFrom('', 'i'.repeat(513))) }),
  fc.record({ actor: hostileString() }),
);

/** A valid entry, or (about half the time) one with a hostile field. */
export const hostileEntry: fc.Arbitrary<EntryInput> = fc
  .tuple(validEntry, fc.option(hostileField, { freq: 2 }))
  .map(([entry, bad]) => ({ ...entry, ...(bad ?? {}) }) as unknown as EntryInput);
