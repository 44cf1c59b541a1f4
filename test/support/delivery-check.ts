/** One entry as the log holds it or as a sink reported applying it. */
export interface EntryRef {
  id: string;
  key: string;
}

export interface DeliveryCheck {
  /** Entries in the log (committed) that were never applied. */
  lost: string[];
  /** Entries applied that the log does not hold: from a rolled-back or never-committed transaction. */
  unexpected: string[];
  /**
   * Keys where an entry was first applied before an earlier entry of the same key was: the sink saw the key
   * out of order. Re-deliveries of entries already applied (at least once) do not count.
   */
  reorderedKeys: string[];
  /** Applications beyond the first of an entry: at-least-once re-deliveries, absorbed by version guards. */
  redelivered: number;
}

/**
 * Compares what a sink applied, in the order it applied it, with the committed log: every committed entry
 * applied, nothing else applied, and per key each entry applied for the first time only after every earlier
 * entry of its key.
 */
export function checkDeliveries(log: readonly EntryRef[], applied: readonly EntryRef[]): DeliveryCheck {
  const byKey = new Map<string, bigint[]>();
  for (const e of [...log].sort((a, b) => cmp(BigInt(a.id), BigInt(b.id)))) {
    const ids = byKey.get(e.key) ?? [];
    ids.push(BigInt(e.id));
    byKey.set(e.key, ids);
  }
  const inLog = new Set(log.map((e) => e.id));
  const seen = new Set<string>();
  const unexpected = new Set<string>();
  const reordered = new Set<string>();
  /** Per key: how many of its log entries (in id order) have been applied so far. */
  const progress = new Map<string, number>();
  let redelivered = 0;
  for (const a of applied) {
    if (!inLog.has(a.id)) {
      unexpected.add(a.id);
      continue;
    }
    if (seen.has(a.id)) {
      redelivered++;
      continue;
    }
    seen.add(a.id);
    const ids = byKey.get(a.key) ?? [];
    const done = progress.get(a.key) ?? 0;
    if (ids[done] !== BigInt(a.id)) reordered.add(a.key);
    progress.set(a.key, done + 1);
  }
  return {
    lost: log.filter((e) => !seen.has(e.id)).map((e) => e.id),
    unexpected: [...unexpected],
    reorderedKeys: [...reordered],
    redelivered,
  };
}

function cmp(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
