// The part of rocksdb-native 3.18 (which ships no types) this package uses.
declare module 'rocksdb-native' {
  interface ReadBatch {
    get(key: string | Buffer): Promise<Buffer | null>;
    flush(): Promise<void>;
  }
  interface WriteBatch {
    /** Adds a put to the batch (no promise of its own: flush() reports the batch). */
    tryPut(key: string | Buffer, value: string | Buffer): void;
    flush(): Promise<void>;
  }
  /** autoDestroy: free the native batch after its flush. */
  interface BatchOptions {
    autoDestroy?: boolean;
  }
  class RocksDB {
    constructor(path: string, options?: { readOnly?: boolean; createIfMissing?: boolean });
    ready(): Promise<void>;
    read(options?: BatchOptions): ReadBatch;
    write(options?: BatchOptions): WriteBatch;
    flush(): Promise<void>;
    close(): Promise<void>;
    readonly closed: boolean;
  }
  export default RocksDB;
}
