/**
 * End-to-end latency, commit to applied. Each producer transaction gets a number (`tx`) that its entries
 * carry in their payload. The producer runs BEGIN; append; COMMIT and notes the wall-clock time at which
 * the COMMIT returned. The sink, in the dispatcher's process, notes the time each batch reached it and
 * reports it per `tx`. Latency of an entry = applied time - commit time of its transaction.
 *
 * The commit becomes visible somewhere between sending COMMIT and its reply. The send time would charge
 * the commit's own wait to delivery (with NOTIFY, commits queue for a global lock: tens of ms under load),
 * so the reply is used: it errs low by the reply's trip (sub-ms locally) plus however long the producer
 * takes to get to it (its event loop, and the OS scheduler on a busy machine). That is checked, not
 * assumed: an entry applied before its COMMIT was seen to return is counted (`early`) and reported when
 * it is not rare, and p99 is also given from the moment COMMIT was sent, which bounds it from above. Both processes read the same
 * clock (performance.timeOrigin + performance.now(); measured offset between a parent and a child process
 * < 0.1 ms). Reports are joined with commit times only at the end, so a report that overtakes the
 * producer's own bookkeeping is still counted.
 */
export class CommitLedger {
  #next = 1;
  readonly #commitAt = new Map<number, { sentAt: number; returnedAt: number }>();

  /** A fresh transaction number, to put in the payload of each of its entries. */
  begin(): number {
    return this.#next++;
  }

  readonly #rtts: number[] = [];

  /** `sentAt`: just before COMMIT was sent; `returnedAt`: when the producer saw it return. */
  committed(tx: number, sentAt: number, returnedAt = wallClock()): void {
    this.#commitAt.set(tx, { sentAt, returnedAt });
    this.#rtts.push(returnedAt - sentAt);
  }

  /** Median time from sending COMMIT to seeing it return (commit work, WAL flush, lock waits). */
  commitRttMedian(): number {
    const sorted = Float64Array.from(this.#rtts).sort();
    return sorted.length === 0 ? Number.NaN : sorted[Math.floor(sorted.length / 2)]!;
  }

  commitAt(tx: number): { sentAt: number; returnedAt: number } | undefined {
    return this.#commitAt.get(tx);
  }
}

export function wallClock(): number {
  return performance.timeOrigin + performance.now();
}

export interface DeliverySummary {
  /** Entries applied within [from, to]. */
  inWindow: number;
  /** inWindow per second of the window. */
  rate: number;
  /** All entries applied (also after the window), and how many of them had a known commit time. */
  total: number;
  matched: number;
  /** Share of matched entries applied before their producer saw COMMIT return (see above). */
  early: number;
  p50: number;
  p99: number;
  max: number;
  /** p99 counted from the moment COMMIT was sent: the upper bound. */
  p99FromSent: number;
  firstAt: number;
  lastAt: number;
}

/** Summarizes [appliedAt, tx, n] triples as reported by the child. */
export function summarize(
  applied: readonly number[],
  ledger: CommitLedger,
  from: number,
  to: number,
): DeliverySummary {
  let inWindow = 0;
  let total = 0;
  let matched = 0;
  let early = 0;
  let firstAt = Number.POSITIVE_INFINITY;
  let lastAt = Number.NEGATIVE_INFINITY;
  const samples: Array<[latency: number, n: number]> = [];
  const fromSent: Array<[latency: number, n: number]> = [];
  for (let i = 0; i < applied.length; i += 3) {
    const at = applied[i]!;
    const n = applied[i + 2]!;
    total += n;
    if (at >= from && at <= to) inWindow += n;
    firstAt = Math.min(firstAt, at);
    lastAt = Math.max(lastAt, at);
    const c = ledger.commitAt(applied[i + 1]!);
    if (c === undefined) continue;
    matched += n;
    if (at < c.returnedAt) early += n;
    samples.push([at - c.returnedAt, n]);
    fromSent.push([at - c.sentAt, n]);
  }
  samples.sort((a, b) => a[0] - b[0]);
  fromSent.sort((a, b) => a[0] - b[0]);
  return {
    inWindow,
    rate: (inWindow * 1000) / (to - from),
    total,
    matched,
    early: matched === 0 ? 0 : early / matched,
    p50: weightedPercentile(samples, matched, 0.5),
    p99: weightedPercentile(samples, matched, 0.99),
    max: samples.at(-1)?.[0] ?? Number.NaN,
    p99FromSent: weightedPercentile(fromSent, matched, 0.99),
    firstAt,
    lastAt,
  };
}

function weightedPercentile(sorted: ReadonlyArray<[number, number]>, total: number, q: number): number {
  if (total === 0) return Number.NaN;
  const rank = Math.min(total - 1, Math.floor(q * total));
  let seen = 0;
  for (const [value, n] of sorted) {
    seen += n;
    if (seen > rank) return value;
  }
  return sorted.at(-1)![0];
}
