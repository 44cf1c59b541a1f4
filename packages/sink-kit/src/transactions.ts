import type { SinkEntry } from './sink-types.js';

/** The entries of one source transaction in a batch, in log order. */
export interface TransactionGroup<E> {
  /** The source transaction's xid8; undefined for an entry that carries none (a group of its own). */
  xid: string | undefined;
  entries: E[];
}

/**
 * Splits a batch into its source transactions, ordered by the position of each one's last entry. Concurrent
 * source transactions take ids from one sequence, so their entries interleave in log order (A: 1, 3; B: 2):
 * entries are grouped by `xid`, not by runs, and the last entries come in about the order the transactions
 * committed, so a key written by both is written by the later one last (a version guard refuses the older
 * write either way). The dispatcher never splits a source transaction's entries of one (namespace, target,
 * partition) across two batches, so a group is all of that transaction for this target, and a sink that
 * applies a group atomically (a database transaction, a write batch) lets no reader see half of it. Entries
 * without an xid (built by hand) are groups of one.
 */
export function groupByTransaction<E extends Pick<SinkEntry, 'xid'>>(
  batch: readonly E[],
): TransactionGroup<E>[] {
  const groups: Array<TransactionGroup<E> & { last: number }> = [];
  const byXid = new Map<string, TransactionGroup<E> & { last: number }>();
  batch.forEach((e, i) => {
    const group = e.xid === undefined ? undefined : byXid.get(e.xid);
    if (group) {
      group.entries.push(e);
      group.last = i;
      return;
    }
    const created = { xid: e.xid, entries: [e], last: i };
    groups.push(created);
    if (e.xid !== undefined) byXid.set(e.xid, created);
  });
  return groups.sort((a, b) => a.last - b.last).map(({ xid, entries }) => ({ xid, entries }));
}
