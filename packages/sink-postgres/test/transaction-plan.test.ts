import { defaultAction } from '@walbox/sink-kit';
import { describe, expect, it } from 'vitest';
import { planTransactions } from '../src/transaction-plan.js';

const e = (id: string, key: string, xid?: string, op = 'upsert') => ({
  id,
  namespace: 'ns',
  key,
  op,
  payload: id,
  xid,
});
const shape = (batch: ReturnType<typeof e>[]) =>
  planTransactions(batch, defaultAction).map((t) => ({
    ids: t.entries.map((x) => x.id),
    writes: t.commands.map((c) => `${c.last.key}=${c.last.id}`),
    failed: t.error !== undefined,
  }));

describe('planTransactions', () => {
  it('groups entries by xid, interleaved or not, ordered by the position of each last entry', () => {
    expect(
      shape([e('1', 'a', 'A'), e('2', 'b', 'B'), e('3', 'a', 'A'), e('4', 'c', 'C'), e('5', 'b', 'B')]),
    ).toEqual([
      { ids: ['1', '3'], writes: ['a=3'], failed: false },
      { ids: ['4'], writes: ['c=4'], failed: false },
      { ids: ['2', '5'], writes: ['b=5'], failed: false },
    ]);
  });

  it('makes each entry without an xid a transaction of its own', () => {
    expect(shape([e('1', 'a'), e('2', 'a')]).map((t) => t.ids)).toEqual([['1'], ['2']]);
  });

  it('fails a whole transaction when one of its entries cannot be planned', () => {
    expect(shape([e('1', 'a', 'A'), e('x2', 'b', 'A'), e('3', 'c', 'B')])).toEqual([
      { ids: ['1', 'x2'], writes: [], failed: true },
      { ids: ['3'], writes: ['c=3'], failed: false },
    ]);
  });

  it('writes the last entry of a key within a transaction, deletes as such, and leaves out other ops', () => {
    expect(shape([e('1', 'a', 'A'), e('2', 'a', 'A', 'delete'), e('3', 'b', 'A', 'touch')])).toEqual([
      { ids: ['1', '2', '3'], writes: ['a=2'], failed: false },
    ]);
  });
});
