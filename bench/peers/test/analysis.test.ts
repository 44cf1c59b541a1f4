import { describe, expect, it } from 'vitest';
import { CommitLedger } from '../../support/delivery-stats.js';
import { analyze, Produced } from '../analysis.js';

/** Transactions as [sentAt, returnedAt, keys of its entries in order]; entries numbered in that order. */
function workload(txs: Array<[sentAt: number, returnedAt: number, keys: number[]]>) {
  const ledger = new CommitLedger();
  const produced = new Produced(txs.reduce((n, [, , keys]) => n + keys.length, 0));
  let n = 0;
  for (const [sentAt, returnedAt, keys] of txs) {
    const tx = ledger.begin();
    keys.forEach((key, index) => {
      produced.key[n] = key;
      produced.tx[n] = tx;
      produced.index[n] = index;
      n++;
    });
    ledger.committed(tx, sentAt, returnedAt);
    produced.committed += keys.length;
  }
  return { ledger, produced };
}

/** Arrivals [at, n] for entry numbers handled in `order`, one ms apart from t = 100. */
const handled = (order: number[]) => order.flatMap((n, i) => [100 + i, n]);

describe('analyze', () => {
  // Two transactions on key 7: the first committed (returned at 11) before the second was sent (20).
  const apart: Array<[number, number, number[]]> = [
    [10, 11, [7, 8]],
    [20, 21, [7]],
  ];
  // The same, but the second COMMIT was sent (10.5) before the first was seen to return (11).
  const overlapping: Array<[number, number, number[]]> = [
    [10, 11, [7]],
    [10.5, 12, [7]],
  ];
  it.each([
    { name: 'in commit order', txs: apart, order: [0, 1, 2], lost: 0, dup: 0, ooo: 0 },
    { name: 'a later transaction of the key first', txs: apart, order: [2, 0, 1], lost: 0, dup: 0, ooo: 1 },
    { name: 'other keys in any order', txs: apart, order: [1, 0, 2], lost: 0, dup: 0, ooo: 0 },
    { name: 'overlapping commits either way', txs: overlapping, order: [1, 0], lost: 0, dup: 0, ooo: 0 },
    {
      name: 'one transaction out of its own order',
      txs: [[10, 11, [5, 5]]] as Array<[number, number, number[]]>,
      order: [1, 0],
      lost: 0,
      dup: 0,
      ooo: 1,
    },
    { name: 'a redelivery', txs: apart, order: [0, 1, 2, 0], lost: 0, dup: 1, ooo: 0 },
    { name: 'a missing entry', txs: apart, order: [0, 2], lost: 1, dup: 0, ooo: 0 },
  ])('$name', ({ txs, order, lost, dup, ooo }) => {
    const { ledger, produced } = workload(txs);
    const d = analyze(handled(order), produced, ledger);
    expect({ lost: d.lost, dup: d.duplicates, ooo: d.outOfOrder }).toEqual({ lost, dup, ooo });
  });

  it('measures latency from the COMMIT seen to return', () => {
    const { ledger, produced } = workload([[10, 50, [1, 2, 3, 4]]]);
    const d = analyze([60, 0, 60, 1, 70, 2, 150, 3], produced, ledger);
    expect(d.p50).toBe(20);
    expect(d.p99).toBe(100);
  });
});
