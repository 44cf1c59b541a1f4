import { describe, expect, it } from 'vitest';
import type { ResolvedIndex } from '../src/index-definition.js';
import { valuesOf } from '../src/index-definition.js';
import type { KeyChange } from '../src/key-change.js';
import { type DecideMode, decide, ix, type StoredRecord, slot } from '../src/pg-index-decide.js';

const email: ResolvedIndex = { namespace: 'users', name: 'email', unique: true, extract: (p) => p.email };
const tag: ResolvedIndex = { namespace: 'users', name: 'tag', unique: false, extract: (p) => p.tags };
const change = (key: string, id: string, emails: string[], tags: string[] = []): KeyChange => ({
  namespace: 'users',
  key,
  id,
  firstId: id,
  indexes: [
    { index: email, values: emails },
    { index: tag, values: tags },
  ],
});
const records = (list: Array<[index: string, gen: number, key: string, version: string, vals: string[]]>) =>
  new Map<string, StoredRecord>(
    list.map(([i, g, k, version, vals]) => [slot('users', i, g, k), { version, vals }]),
  );
const holders = (list: Array<[value: string, keys: string[]]>) =>
  new Map(list.map(([v, keys]) => [slot('users', 'email', 0, v), keys]));
const live = (policy: 'fail' | 'report', building: number | null = null): DecideMode => ({
  kind: 'live',
  policy,
  gens: new Map([
    [ix('users', 'email'), { current: 0, building }],
    [ix('users', 'tag'), { current: 0, building: null }],
  ]),
});

describe('decide', () => {
  it('moves a key from its old values to its new ones, and writes nothing for an entry not newer', () => {
    const stored = records([
      ['email', 0, 'a', '5', ['old@x']],
      ['tag', 0, 'a', '5', ['t1', 't2']],
    ]);
    const d = decide(
      [change('a', '6', ['new@x'], ['t2', 't3'])],
      stored,
      holders([['old@x', ['a']]]),
      live('fail'),
    );
    expect(d.refused).toBe(false);
    expect(d.removeValues.map((r) => `${r.index}:${r.value}`)).toEqual(['email:old@x', 'tag:t1']);
    expect(d.addValues.map((r) => `${r.index}:${r.value}`)).toEqual(['email:new@x', 'tag:t3']);
    expect(d.keyRows.map((r) => [r.index, r.version, r.vals])).toEqual([
      ['email', '6', ['new@x']],
      ['tag', '6', ['t2', 't3']],
    ]);
    for (const id of ['5', '4']) {
      const stale = decide([change('a', id, ['new@x'])], stored, new Map(), live('fail'));
      expect([stale.keyRows, stale.addValues, stale.removeValues]).toEqual([[], [], []]);
    }
  });

  it('refuses a claim of a value another key holds under fail, and writes it and reports it under report', () => {
    const held = holders([['x@x', ['b']]]);
    const fail = decide([change('a', '7', ['x@x'])], new Map(), held, live('fail'));
    expect(fail).toMatchObject({ refused: true, keyRows: [], addValues: [] });
    expect(fail.violations).toEqual([
      { namespace: 'users', index: 'email', value: 'x@x', keys: ['a', 'b'], entryId: '7' },
    ]);
    const report = decide([change('a', '7', ['x@x'])], new Map(), held, live('report'));
    expect(report.refused).toBe(false);
    expect(report.violations).toHaveLength(1);
    expect(report.addValues.map((r) => r.value)).toEqual(['x@x']);
  });

  it('takes a swap of values between keys of one source transaction as no violation', () => {
    const stored = records([
      ['email', 0, 'a', '1', ['one@x']],
      ['email', 0, 'b', '2', ['two@x']],
    ]);
    const held = holders([
      ['one@x', ['a']],
      ['two@x', ['b']],
    ]);
    const d = decide([change('a', '3', ['two@x']), change('b', '4', ['one@x'])], stored, held, live('fail'));
    expect(d).toMatchObject({ refused: false, violations: [] });
  });

  it('reports again what an entry delivered a second time holds that is still contested (report only)', () => {
    const stored = records([['email', 0, 'a', '7', ['x@x']]]);
    const held = holders([['x@x', ['a', 'b']]]);
    const again = decide([change('a', '7', ['x@x'])], stored, held, live('report'));
    expect(again.violations).toMatchObject([{ value: 'x@x', keys: ['a', 'b'], entryId: '7' }]);
    expect(again.keyRows.filter((r) => r.index === 'email')).toEqual([]);
    expect(decide([change('a', '7', ['x@x'])], stored, held, live('fail')).violations).toEqual([]);
  });

  it('writes the generation being built too, and only absent keys of one generation for a versionless row', () => {
    const d = decide([change('a', '9', ['a@x'])], new Map(), new Map(), live('fail', 4));
    expect(d.keyRows.filter((r) => r.index === 'email').map((r) => r.gen)).toEqual([0, 4]);
    const stored = records([['email', 4, 'a', '9', ['a@x']]]);
    const snapshot = decide([change('a', '0', ['b@x']), change('c', '0', ['c@x'])], stored, new Map(), {
      kind: 'gen',
      gen: 4,
      ifAbsent: true,
    });
    expect(snapshot.keyRows.filter((r) => r.index === 'email').map((r) => r.key)).toEqual(['c']);
  });
});

describe('valuesOf', () => {
  const index = (extract: ResolvedIndex['extract']): ResolvedIndex => ({
    namespace: 'n',
    name: 'i',
    unique: false,
    extract,
  });
  const of = (extract: ResolvedIndex['extract']) =>
    valuesOf(index(extract), { id: '1', namespace: 'n', key: 'k', op: 'upsert', payload: {} });

  const indexed: Array<[string, () => unknown, string[]]> = [
    ['one string', () => 'x', ['x']],
    ['numbers, booleans and bigints as text', () => [2, 1.5, true, 10n], ['1.5', '10', '2', 'true']],
    ['distinct and sorted', () => ['b', 'a', 'b'], ['a', 'b']],
    ['nothing for undefined, null or []', () => undefined, []],
    ['nothing for null', () => null, []],
    ['the empty string as a value', () => '', ['']],
  ];
  it.each(indexed)('indexes %s', (_, extract, want) => {
    expect(of(extract as ResolvedIndex['extract'])).toEqual(want);
  });

  const refused: Array<[string, () => unknown, RegExp]> = [
    ['an object', () => ({}), /a object is not an index value/],
    ['NaN', () => Number.NaN, /NaN is not an index value/],
    ['\\u0000', () => 'a\u0000', /may not contain/],
    ['a value too long', () => 'x'.repeat(1001), /longer than 1000/],
    [
      'a throw',
      () => {
        throw new Error('boom');
      },
      /extract threw/,
    ],
  ];
  it.each(refused)('fails the entry for %s', (_, extract, message) => {
    expect(() => of(extract as ResolvedIndex['extract'])).toThrow(message);
  });
});
