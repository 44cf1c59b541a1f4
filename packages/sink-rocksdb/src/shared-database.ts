import { resolve } from 'node:path';
import RocksDB from 'rocksdb-native';

/** One open RocksDB directory, shared by the sinks of this process that name it. */
export interface SharedDatabase {
  readonly db: RocksDB;
  /** Runs `fn` after every earlier call on this directory has finished: version reads and writes never interleave. */
  exclusive<T>(fn: () => Promise<T>): Promise<T>;
  /** Drops this user's hold; the last one closes the database. */
  release(): Promise<void>;
}

interface Entry {
  db: RocksDB;
  ready: Promise<void>;
  refs: number;
  queue: Promise<unknown>;
}

// RocksDB lets one handle hold a directory (its LOCK file): sinks of one process on one path share it, for a
// dispatcher's sink and a reader, or two dispatchers, in one process. Another process gets an open error.
const open = new Map<string, Entry>();

/** Opens `path` (creating it when missing), or joins the handle this process has open already. */
export async function acquire(path: string): Promise<SharedDatabase> {
  const key = resolve(path);
  let entry = open.get(key);
  if (!entry) {
    const db = new RocksDB(key);
    entry = { db, ready: db.ready(), refs: 0, queue: Promise.resolve() };
    open.set(key, entry);
  }
  const held = entry;
  held.refs++;
  try {
    await held.ready;
  } catch (error) {
    // Not opened (a bad path, a directory another process holds): the next acquire tries again.
    held.refs--;
    if (open.get(key) === held) open.delete(key);
    throw error;
  }
  let released = false;
  return {
    db: held.db,
    exclusive(fn) {
      const run = held.queue.then(fn);
      held.queue = run.catch(() => {});
      return run;
    },
    async release() {
      if (released) return;
      released = true;
      if (--held.refs > 0) return;
      open.delete(key);
      await held.queue;
      await held.db.close();
    },
  };
}
