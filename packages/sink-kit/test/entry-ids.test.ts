import { describe, expect, it } from 'vitest';
import { compareIds, isEntryId, isNewer } from '../src/index.js';

describe('entry ids', () => {
  it.each([
    ['1', '2', -1],
    ['9', '10', -1],
    ['10', '9', 1],
    ['42', '42', 0],
    ['9007199254740992', '9007199254740993', -1],
    ['9223372036854775807', '9223372036854775806', 1],
    ['0', '1', -1],
  ] as const)('compareIds(%s, %s) is %i', (a, b, want) => {
    expect(compareIds(a, b)).toBe(want);
    expect(compareIds(b, a)).toBe(-want || 0);
  });

  it('isNewer accepts an id above the stored one or anything when nothing is stored', () => {
    expect(isNewer('10', '9')).toBe(true);
    expect(isNewer('9', '10')).toBe(false);
    expect(isNewer('10', '10')).toBe(false);
    expect(isNewer('1', undefined)).toBe(true);
    expect(isNewer('1', null)).toBe(true);
  });

  it.each([
    ['0', true],
    ['1', true],
    ['9223372036854775807', true],
    ['01', false],
    ['-1', false],
    ['1.0', false],
    ['', false],
    ['12345678901234567890', false],
    [1, false],
  ])('isEntryId(%j) is %s', (id, want) => {
    expect(isEntryId(id)).toBe(want);
  });
});
