import {
  defaultAction,
  type FailedEntry,
  lastPerKey,
  type SinkAction,
  type SinkEntry,
} from '@walbox/sink-kit';
import { type IndexSet, type ResolvedIndex, valuesOf } from './index-definition.js';

/** The values one key now has in one index. */
export interface IndexValues {
  index: ResolvedIndex;
  values: string[];
}

/** The new state of a key in every index of its namespace: what one store write applies. */
export interface KeyChange {
  namespace: string;
  key: string;
  /** The version: the id of the entry that set this state ('0' for a snapshot row without one). */
  id: string;
  /** The id to name when the write fails: the key's first entry in the batch, which the dispatcher re-delivers. */
  firstId: string;
  indexes: IndexValues[];
}

/**
 * One change per (namespace, key) of the batch with indexes, from its last entry (an upsert's extracted values,
 * a delete's none). Entries of namespaces without indexes are skipped; an entry whose id is not a bigint or
 * whose extract throws fails its key from the key's first entry on.
 */
export function planChanges(
  batch: readonly SinkEntry[],
  indexes: IndexSet,
  actionOf: (e: SinkEntry) => SinkAction = defaultAction,
): { changes: KeyChange[]; failed: FailedEntry[] } {
  const { commands, failed } = lastPerKey(batch, (e) =>
    indexes.byNamespace.has(e.namespace) ? actionOf(e) : 'skip',
  );
  const changes: KeyChange[] = [];
  for (const { first, last, action } of commands) {
    try {
      const defs = indexes.byNamespace.get(last.namespace) ?? [];
      changes.push({
        namespace: last.namespace,
        key: last.key,
        id: last.id,
        firstId: first.id,
        indexes: defs.map((index) => ({ index, values: action === 'delete' ? [] : valuesOf(index, last) })),
      });
    } catch (error) {
      failed.push({ id: first.id, error });
    }
  }
  return { changes, failed };
}
