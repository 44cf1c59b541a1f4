import { defaultAction, type FailedEntry, isNewer, type KeyCommand, lastPerKey } from '@walbox/sink-kit';
import {
  type RocksdbSinkConfig,
  type RocksdbSinkEntry,
  resolveRocksdbSinkConfig,
} from './rocksdb-sink-config.js';
import { decodeRocksdbValue, encodeRocksdbValue, type RocksdbItem } from './rocksdb-value.js';
import { acquire, type SharedDatabase } from './shared-database.js';

/** The batch context walbox passes to apply; only the abort signal is used. */
export interface RocksdbSinkContext {
  signal?: AbortSignal;
}

/** Structurally a walbox `Sink`. */
export interface RocksdbSink {
  readonly name: string;
  apply(
    batch: readonly RocksdbSinkEntry[],
    ctx?: RocksdbSinkContext,
  ): Promise<void | { failed: FailedEntry[] }>;
  /** The stored item of (namespace, key), tombstones included; undefined when there is none. */
  read(namespace: string, key: string): Promise<RocksdbItem | undefined>;
  close(): Promise<void>;
}

/**
 * A sink that keeps an embedded RocksDB replica: one value per (namespace, key), holding the payload with the
 * id of the entry that wrote it; a delete stores a tombstone. Each apply reads the stored versions, keeps the
 * newer entries, and writes them in one RocksDB write batch, which RocksDB applies atomically.
 */
export function createRocksdbSink(input: RocksdbSinkConfig): RocksdbSink {
  const config = resolveRocksdbSinkConfig(input);
  const actionOf = config.actionFor ?? defaultAction;
  const nameOf = (namespace: string, key: string) => `${config.keyPrefix}${namespace}:${key}`;
  const keyOf = (e: RocksdbSinkEntry) =>
    config.keyPrefix + (config.keyFor ? config.keyFor(e) : `${e.namespace}:${e.key}`);
  let shared: Promise<SharedDatabase> | undefined;
  let closed = false;

  /** Opens the database on first use (no I/O in createRocksdbSink); a failed open is tried again next time. */
  const open = () => {
    shared ??= acquire(config.path).catch((error: unknown) => {
      shared = undefined;
      throw error;
    });
    return shared;
  };

  const applyNow = async (batch: readonly RocksdbSinkEntry[], signal: AbortSignal | undefined) => {
    const { commands, failed } = lastPerKey(batch, actionOf);
    const writes: Array<{ command: KeyCommand<RocksdbSinkEntry>; key: string; value: string }> = [];
    for (const command of commands) {
      try {
        const { last, action } = command;
        const value = encodeRocksdbValue(
          last.id,
          action === 'delete',
          config.valueFor ? config.valueFor(last) : last.payload,
        );
        writes.push({ command, key: keyOf(last), value });
      } catch (error) {
        failed.push({ id: command.first.id, error });
      }
    }
    if (writes.length === 0) return failed;
    const { db: handle } = await open();
    signal?.throwIfAborted();
    const read = handle.read({ autoDestroy: true });
    const stored = writes.map((w) => read.get(w.key));
    await read.flush();
    const versions = await Promise.all(stored);
    const newer = writes.filter((w, i) =>
      isNewer(w.command.last.id, decodeRocksdbValue(versions[i])?.version),
    );
    if (newer.length > 0) {
      const write = handle.write({ autoDestroy: true });
      for (const w of newer) write.tryPut(w.key, w.value);
      await write.flush(); // one RocksDB WriteBatch: all of it is applied, or none
      if (config.flushEachBatch) await handle.flush();
    }
    return failed;
  };

  return {
    name: config.name,
    async apply(batch, ctx = {}) {
      if (closed) throw new Error(`rocksdb sink "${config.name}" is closed`);
      const database = await open();
      // The dispatcher calls apply for several partitions at once: the read of the stored versions and the
      // write batch of one apply must not interleave with another's on the same directory.
      const failed = await database.exclusive(() => applyNow(batch, ctx.signal));
      return failed.length > 0 ? { failed } : undefined;
    },
    async read(namespace, key) {
      const { db: handle } = await open();
      const read = handle.read({ autoDestroy: true });
      const value = read.get(nameOf(namespace, key));
      await read.flush();
      return decodeRocksdbValue(await value);
    },
    async close() {
      if (closed) return;
      closed = true;
      const database = await shared?.catch(() => undefined);
      await database?.release();
    },
  };
}
