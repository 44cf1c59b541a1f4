import type { CommitLedger } from '../support/delivery-stats.js';

/** What the producers wrote, by entry number n (0 .. total-1): its key, its transaction, its place in it. */
export class Produced {
  readonly key: Int32Array;
  readonly tx: Int32Array;
  readonly index: Int32Array;
  /** Entries committed (a transaction that failed leaves its numbers unused). */
  committed = 0;

  constructor(readonly total: number) {
    this.key = new Int32Array(total).fill(-1);
    this.tx = new Int32Array(total).fill(-1);
    this.index = new Int32Array(total);
  }
}

export interface Delivery {
  /** Committed entries that never arrived. */
  lost: number;
  /** Arrivals beyond the first of an entry. */
  duplicates: number;
  /** Entries handled after an entry of the same key that they certainly precede (see outOfOrder). */
  outOfOrder: number;
  /** Commit (COMMIT seen to return) to first arrival, ms. */
  p50: number;
  p99: number;
}

/**
 * `arrivals`: flattened [at, n] pairs in the order the consumer handled them.
 *
 * Out of order, per key: entry e of transaction T certainly precedes entry f of transaction U (same key)
 * when T = U and e comes first in it, or when T's COMMIT returned before U's COMMIT was sent. An entry
 * handled after one it certainly precedes is counted. Pairs whose commits overlapped have no order the
 * producers could observe and are never counted, so a count above zero is a real inversion.
 */
export function analyze(arrivals: readonly number[], produced: Produced, ledger: CommitLedger): Delivery {
  const first = new Uint8Array(produced.total);
  const latencies: number[] = [];
  /** Per key: the latest COMMIT-sent time of its entries handled so far, and per transaction the highest index. */
  const perKey = new Map<number, { maxSentAt: number; maxIndex: Map<number, number> }>();
  let duplicates = 0;
  let outOfOrder = 0;
  let arrived = 0;
  for (let i = 0; i < arrivals.length; i += 2) {
    const at = arrivals[i]!;
    const n = arrivals[i + 1]!;
    if (first[n] === 1) {
      duplicates++;
      continue;
    }
    first[n] = 1;
    arrived++;
    const tx = produced.tx[n]!;
    const commit = ledger.commitAt(tx);
    if (commit === undefined) continue;
    latencies.push(at - commit.returnedAt);
    const key = produced.key[n]!;
    const index = produced.index[n]!;
    let k = perKey.get(key);
    if (!k) {
      k = { maxSentAt: Number.NEGATIVE_INFINITY, maxIndex: new Map() };
      perKey.set(key, k);
    }
    if (k.maxSentAt > commit.returnedAt || (k.maxIndex.get(tx) ?? -1) > index) outOfOrder++;
    k.maxSentAt = Math.max(k.maxSentAt, commit.sentAt);
    k.maxIndex.set(tx, Math.max(k.maxIndex.get(tx) ?? -1, index));
  }
  latencies.sort((a, b) => a - b);
  return {
    lost: produced.committed - arrived,
    duplicates,
    outOfOrder,
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
  };
}

function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}
