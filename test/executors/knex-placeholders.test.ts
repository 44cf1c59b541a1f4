import { describe, expect, it } from 'vitest';
import { toKnexRaw } from '../../src/executors/knex-placeholders.js';

describe('toKnexRaw', () => {
  it.each([
    ['numbered parameters in order', 'select $1::json, $2', ['a', 'b'], 'select ?::json, ?', ['a', 'b']],
    ['out of order and repeated', 'select $2, $1, $2', ['a', 'b'], 'select ?, ?, ?', ['b', 'a', 'b']],
    ['two-digit numbers', `select ${'$10'}`, Array.from({ length: 10 }, (_, i) => i), 'select ?', [9]],
    ['a jsonb operator', `select d ? 'k', d ?| $1`, [['k']], `select d \\? 'k', d \\?| ?`, [['k']]],
    ['a $n inside a string literal', `select '$1 costs?', $1`, ['x'], `select '$1 costs\\?', ?`, ['x']],
    ['a doubled quote in a literal', `select 'it''s $1', $1`, ['x'], `select 'it''s $1', ?`, ['x']],
    ['an E-string escape', `select E'\\'$1', $1`, ['x'], `select E'\\'$1', ?`, ['x']],
    ['a quoted identifier', `select 1 as "$1", $1`, ['x'], `select 1 as "$1", ?`, ['x']],
    [
      'a dollar-quoted body',
      'do $$ begin perform $1; end $$; select $1',
      ['x'],
      'do $$ begin perform $1; end $$; select ?',
      ['x'],
    ],
    ['a tagged dollar quote', 'select $f$ $1 $f$, $1', ['x'], 'select $f$ $1 $f$, ?', ['x']],
    ['comments', 'select $1 -- $2 ?\n/* $2 */', ['x', 'y'], 'select ? -- $2 \\?\n/* $2 */', ['x']],
    [
      'a $ inside an identifier',
      'select a$1 from t where b = $1',
      ['x'],
      'select a$1 from t where b = ?',
      ['x'],
    ],
    ['undefined as null', 'select $1', [undefined], 'select ?', [null]],
  ])('%s', (_, text, values, sql, bindings) => {
    expect(toKnexRaw(text, values)).toEqual({ sql, bindings });
  });

  it('refuses a parameter the values do not have', () => {
    expect(() => toKnexRaw('select $2', ['a'])).toThrow(RangeError);
    expect(() => toKnexRaw('select $0', ['a'])).toThrow(RangeError);
  });

  it('refuses a backslash before a question mark, which knex would read as an escape', () => {
    expect(() => toKnexRaw(`select E'\\\\?'`, [])).toThrow(TypeError);
  });
});
