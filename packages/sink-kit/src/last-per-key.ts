import { isEntryId } from './entry-ids.js';
import type { FailedEntry } from './sink-types.js';

/** The fields the planner reads. */
export interface KeyedEntry {
  id: string;
  namespace: string;
  key: string;
  op: string;
}

/** What a store sink does with an entry: write its value, delete (or tombstone) its key, or nothing. */
export type SinkAction = 'upsert' | 'delete' | 'skip';

/** The default action: the entry's op for 'upsert' and 'delete', 'skip' for any other op. */
export function defaultAction(e: KeyedEntry): SinkAction {
  return e.op === 'upsert' || e.op === 'delete' ? e.op : 'skip';
}

/** The write a batch asks of one (namespace, key). */
export interface KeyCommand<E extends KeyedEntry> {
  /** The first entry of the key the sink acts on: the one to name in `failed` when the write fails. */
  first: E;
  /** The last one: the only one to write, since a version guard would refuse the earlier ones after it. */
  last: E;
  action: 'upsert' | 'delete';
}

export interface KeyPlan<E extends KeyedEntry> {
  /** One per (namespace, key), in the order of each key's first entry. */
  commands: KeyCommand<E>[];
  /** Entries with an id not in bigint form, or whose actionOf threw: the first of their key. */
  failed: FailedEntry[];
}

/**
 * Plans a batch as one write per (namespace, key): its last entry the sink acts on (`actionOf` says
 * 'upsert', 'delete' or 'skip'). An entry that cannot be planned fails, and so does its key for the rest of
 * the batch: nothing later of a key may be applied before an entry of it that failed. The failure is
 * reported under the key's first planned entry, since the dispatcher re-delivers from there.
 */
export function lastPerKey<E extends KeyedEntry>(
  batch: readonly E[],
  actionOf: (e: E) => SinkAction = defaultAction,
): KeyPlan<E> {
  const byKey = new Map<string, KeyCommand<E>>();
  const broken = new Set<string>();
  const failed: FailedEntry[] = [];
  for (const e of batch) {
    const k = `${e.namespace}\u0000${e.key}`;
    if (broken.has(k)) continue;
    let action: SinkAction;
    try {
      if (!isEntryId(e.id))
        throw new TypeError(`entry id ${JSON.stringify(e.id)} is not a bigint in decimal`);
      action = actionOf(e);
    } catch (error) {
      failed.push({ id: byKey.get(k)?.first.id ?? e.id, error });
      byKey.delete(k);
      broken.add(k);
      continue;
    }
    if (action === 'skip') continue;
    const c = byKey.get(k);
    if (c) {
      c.last = e;
      c.action = action;
    } else byKey.set(k, { first: e, last: e, action });
  }
  return { commands: [...byKey.values()], failed };
}
