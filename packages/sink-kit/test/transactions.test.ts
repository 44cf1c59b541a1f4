import { describe, expect, it } from 'vitest';
import { groupByTransaction } from '../src/index.js';

describe('groupByTransaction', () => {
  it('groups by xid, interleaved or not, in the order of each group last entry', () => {
    const batch = [
      { id: '1', xid: 'A' },
      { id: '2', xid: 'B' },
      { id: '3', xid: 'A' },
      { id: '4', xid: 'C' },
      { id: '5', xid: 'B' },
    ];
    expect(groupByTransaction(batch).map((g) => [g.xid, g.entries.map((e) => e.id)])).toEqual([
      ['A', ['1', '3']],
      ['C', ['4']],
      ['B', ['2', '5']],
    ]);
  });

  it('makes each entry without an xid a group of its own', () => {
    const groups = groupByTransaction([
      { id: '1' },
      { id: '2' },
      { id: '3', xid: 'A' },
      { id: '4', xid: 'A' },
    ]);
    expect(groups.map((g) => g.entries.length)).toEqual([1, 1, 2]);
  });
});
