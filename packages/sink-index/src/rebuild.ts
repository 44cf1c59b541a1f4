import type { FailedEntry } from '@walbox/sink-kit';
import { isEntryId, type SinkAction, type SinkEntry } from '@walbox/sink-kit';
import { RebuildError, type UniqueViolation } from './errors.js';
import { type IndexSet, type ResolvedIndex, valuesOf } from './index-definition.js';
import type { IndexStore } from './index-store.js';
import { type KeyChange, planChanges } from './key-change.js';

/** A reader's position in the log, as walbox's readBatch takes it. */
export interface LogPosition {
  prev: string;
  cur: string | null;
  afterId: string | null;
}

/** walbox's LOG_START: a snapshot in which no transaction is visible, so the first read starts at the beginning. */
const LOG_START: LogPosition = Object.freeze({ prev: '1:1:', cur: null, afterId: null });

/** The part of a walbox `Walbox` a rebuild from the log reads through (a Walbox is one). */
export interface WalboxLog {
  readBatch(
    where: { namespace: string; partition?: number },
    position: LogPosition,
    limit?: number,
  ): Promise<{ entries: SinkEntry[]; next: LogPosition }>;
  namespaces: { get(name: string): Promise<{ partitions: number } | undefined> };
}

/** A row of the source of truth: the key's current payload, and the id of the entry that wrote it if known. */
export interface SnapshotRow {
  key: string;
  payload: unknown;
  version?: string;
}

export type RebuildSource =
  /** Every entry of the namespace the log still holds (retention), read through walbox.readBatch. */
  | { walbox: WalboxLog; target?: string; batchSize?: number }
  /** The rows of the source of truth as they are now. */
  | { snapshot: () => AsyncIterable<SnapshotRow> | Iterable<SnapshotRow>; batchSize?: number };

export interface RebuildOptions {
  /** Take over a generation another rebuild left building (it crashed); that rebuild then fails. */
  force?: boolean;
  signal?: AbortSignal;
}

export interface RebuildResult {
  index: string;
  /** The generation lookups read from now on, and the one it replaced (removed). */
  generation: number;
  replaced: number;
  /** Entries read from the log, or rows from the snapshot. */
  read: number;
  /** Keys whose last entry's extract failed: left out of the index, as the live sink fails them. */
  failed: FailedEntry[];
  /** Values of a unique index held by several keys in the rebuilt index. */
  violations: UniqueViolation[];
}

/**
 * Builds `index` into a fresh generation while appends and deliveries go on, then swaps it in. The generation
 * is marked building first: from then on every live apply writes it too, so an entry delivered during the
 * rebuild is in it whether the rebuild reads it or not, and the version guard keeps the newer of the two.
 */
export async function rebuild(
  store: IndexStore,
  index: ResolvedIndex,
  source: RebuildSource,
  actionOf: ((e: SinkEntry) => SinkAction) | undefined,
  options: RebuildOptions = {},
): Promise<RebuildResult> {
  const { gen, replaced } = await store.beginGeneration(index, options.force === true);
  if (replaced !== undefined) await store.dropGeneration(index, replaced);
  let read = 0;
  const failed: FailedEntry[] = [];
  try {
    const only: IndexSet = {
      byNamespace: new Map([[index.namespace, [index]]]),
      get: () => index,
      all: () => [index],
    };
    if ('walbox' in source) {
      const size = source.batchSize ?? 1000;
      const ns = await source.walbox.namespaces.get(index.namespace);
      if (!ns) throw new RebuildError(index.name, `namespace ${index.namespace} does not exist`);
      for (let partition = 0; partition < ns.partitions; partition++) {
        let position = LOG_START;
        do {
          options.signal?.throwIfAborted();
          const r = await source.walbox.readBatch({ namespace: index.namespace, partition }, position, size);
          read += r.entries.length;
          const mine = source.target
            ? r.entries.filter((e) => e.targets?.includes(source.target!))
            : r.entries;
          const plan = planChanges(mine, only, actionOf);
          failed.push(...plan.failed);
          await store.writeGeneration(index, gen, plan.changes, false);
          position = r.next;
          // A window read up to its snapshot: later entries reach the generation through live applies.
        } while (position.cur !== null);
      }
    } else {
      const size = source.batchSize ?? 1000;
      let chunk = new Map<string, SnapshotRow>();
      const flush = async () => {
        const rows = [...chunk.values()];
        chunk = new Map();
        const changes = (versioned: boolean) =>
          rows.filter((r) => (r.version !== undefined) === versioned).map((r) => snapshotChange(index, r));
        await store.writeGeneration(index, gen, changes(true), false);
        await store.writeGeneration(index, gen, changes(false), true);
      };
      for await (const row of source.snapshot()) {
        options.signal?.throwIfAborted();
        read++;
        chunk.set(row.key, row);
        if (chunk.size >= size) await flush();
      }
      await flush();
    }
    const old = await store.finishGeneration(index, gen);
    await store.dropGeneration(index, old);
    return {
      index: index.name,
      generation: gen,
      replaced: old,
      read,
      failed,
      violations: index.unique ? await store.violations(index) : [],
    };
  } catch (error) {
    await store.abandonGeneration(index, gen).catch(() => {});
    await store.dropGeneration(index, gen).catch(() => {});
    throw error;
  }
}

/**
 * A snapshot row as a change: its version, or '0' (below every entry id) written only where the generation
 * has no record of the key, since a live apply that got there first holds the same or a newer state.
 */
function snapshotChange(index: ResolvedIndex, row: SnapshotRow): KeyChange {
  if (typeof row.key !== 'string' || row.key === '')
    throw new RebuildError(
      index.name,
      `snapshot row key ${JSON.stringify(row.key)} is not a non-empty string`,
    );
  if (row.version !== undefined && !isEntryId(row.version))
    throw new RebuildError(
      index.name,
      `snapshot row version ${JSON.stringify(row.version)} is not an entry id`,
    );
  const id = row.version ?? '0';
  const entry: SinkEntry = {
    id,
    namespace: index.namespace,
    key: row.key,
    op: 'upsert',
    payload: row.payload,
  };
  return {
    namespace: index.namespace,
    key: row.key,
    id,
    firstId: id,
    indexes: [{ index, values: valuesOf(index, entry) }],
  };
}
