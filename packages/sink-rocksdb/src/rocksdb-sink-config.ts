import {
  sinkFunction as fn,
  resolveSinkConfig,
  type SinkAction,
  SinkConfigError,
  type SinkEntry,
} from '@walbox/sink-kit';
import { z } from 'zod';

/** A walbox `Entry`, structurally; the sink reads id, namespace, key, op and payload. */
export type RocksdbSinkEntry = SinkEntry;

export const rocksdbSinkConfigSchema = z
  .object({
    /** The target name the sink reports; defaults to 'rocksdb'. */
    name: z.string().min(1).max(200).default('rocksdb'),
    /** The database directory; created when missing. One process at a time holds it (RocksDB's LOCK file). */
    path: z.string().min(1).max(4096),
    /** Prepended to every key the sink writes. */
    keyPrefix: z.string().max(1000).default(''),
    /** The key (after keyPrefix) of an entry; defaults to `${namespace}:${key}`. */
    keyFor: fn<(entry: RocksdbSinkEntry) => string>('(entry) => string').optional(),
    /** The JSON value stored (as `d` of the envelope) for an upsert; defaults to the payload. */
    valueFor: fn<(entry: RocksdbSinkEntry) => unknown>('(entry) => unknown').optional(),
    /** What to do with an entry; defaults to its op for 'upsert' and 'delete', and 'skip' for any other op. */
    actionFor: fn<(entry: RocksdbSinkEntry) => SinkAction>(
      "(entry) => 'upsert' | 'delete' | 'skip'",
    ).optional(),
    /**
     * Flush the memtable to disk (fsynced SST files) before apply returns, so that a machine crash cannot lose
     * an applied batch; without it a process crash loses nothing (the write-ahead log is written before apply
     * returns) but a power loss can lose the last batches. Costly: one flush per batch.
     */
    flushEachBatch: z.boolean().default(false),
  })
  .strict();

export type RocksdbSinkConfig = z.input<typeof rocksdbSinkConfigSchema>;
export type ResolvedRocksdbSinkConfig = Readonly<z.output<typeof rocksdbSinkConfigSchema>>;

/** A sink config failed validation; `field` is the dotted path of the first bad field. */
export class RocksdbSinkConfigError extends SinkConfigError {
  constructor(field: string, message: string, options?: { cause?: unknown }) {
    super(field, message, { ...options, sink: 'rocksdb' });
    this.name = 'RocksdbSinkConfigError';
  }
}

export function resolveRocksdbSinkConfig(input: RocksdbSinkConfig): ResolvedRocksdbSinkConfig {
  return resolveSinkConfig(rocksdbSinkConfigSchema, input, RocksdbSinkConfigError);
}
