import {
  groupByTransaction,
  type KeyCommand,
  lastPerKey,
  type SinkAction,
  type SinkEntry,
} from '@walbox/sink-kit';

/** One source transaction of a batch, planned: its writes, or why it cannot be applied. */
export interface PlannedTransaction<E extends SinkEntry> {
  entries: E[];
  /** One write per (namespace, key) of the transaction: its last entry. */
  commands: KeyCommand<E>[];
  /** Set when an entry cannot be planned (a bad id, actionFor threw): the whole transaction fails. */
  error?: unknown;
}

/**
 * The batch as its source transactions (groupByTransaction: grouped by xid, ordered by each one's last entry),
 * each planned as one write per key.
 */
export function planTransactions<E extends SinkEntry>(
  batch: readonly E[],
  actionOf: (e: E) => SinkAction,
): PlannedTransaction<E>[] {
  return groupByTransaction(batch).map(({ entries }) => {
    const { commands, failed } = lastPerKey(entries, actionOf);
    return failed.length > 0 ? { entries, commands: [], error: failed[0]!.error } : { entries, commands };
  });
}

/** The (namespace, key) of an entry, as one string. */
export const keyOf = (e: Pick<SinkEntry, 'namespace' | 'key'>) => `${e.namespace}\u0000${e.key}`;
