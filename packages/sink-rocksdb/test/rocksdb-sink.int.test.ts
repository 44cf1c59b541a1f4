import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeSink, entry } from '@walbox/sink-testkit';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createRocksdbSink, RocksdbSinkConfigError } from '../src/index.js';

const dir = await mkdtemp(join(tmpdir(), 'walbox-rocksdb-'));
afterAll(() => rm(dir, { recursive: true, force: true }));
let n = 0;
const freshPath = () => join(dir, `db${++n}`);

describeSink(
  'rocksdb',
  async () => {
    // Sinks of one process on one directory share its handle (RocksDB lets one hold it): the reader too.
    const path = freshPath();
    const reader = createRocksdbSink({ path });
    // A "dead" RocksDB: a directory that cannot be created, below a regular file.
    const blocker = join(dir, 'not-a-directory');
    await writeFile(blocker, '');
    return {
      create: () => createRocksdbSink({ path }),
      createDead: () => createRocksdbSink({ path: join(blocker, 'db') }),
      read: async (namespace, key) => {
        const item = await reader.read(namespace, key);
        return item && !item.deleted ? item.value : undefined;
      },
      close: () => reader.close(),
    };
  },
  { databaseUrl: inject('databaseUrl') },
);

describe('rocksdb sink', () => {
  it('keeps the version with the value, and a tombstone for a delete', async () => {
    const sink = createRocksdbSink({ path: freshPath() });
    try {
      await sink.apply([
        entry('ns', 1, 'a', 'upsert', { v: 1 }),
        entry('ns', 2, 'b', 'upsert', 'b'),
        entry('ns', 3, 'b', 'delete'),
      ]);
      expect(await sink.read('ns', 'a')).toEqual({ version: '1', deleted: false, value: { v: 1 } });
      expect(await sink.read('ns', 'b')).toEqual({ version: '3', deleted: true, value: undefined });
      expect(await sink.read('ns', 'never')).toBeUndefined();
    } finally {
      await sink.close();
    }
  });

  it('keeps what it applied across a close and a reopen of the directory', async () => {
    const path = freshPath();
    const first = createRocksdbSink({ path });
    await first.apply([entry('ns', 5, 'k', 'upsert', 'kept')]);
    await first.close();
    const second = createRocksdbSink({ path });
    try {
      await second.apply([entry('ns', 4, 'k', 'upsert', 'older')]);
      expect(await second.read('ns', 'k')).toMatchObject({ version: '5', value: 'kept' });
    } finally {
      await second.close();
    }
  });

  it('serializes concurrent applies, so the newest entry of a key wins', async () => {
    const sink = createRocksdbSink({ path: freshPath() });
    try {
      await Promise.all(
        Array.from({ length: 50 }, (_, i) => sink.apply([entry('ns', 50 - i, 'k', 'upsert', 50 - i)])),
      );
      expect(await sink.read('ns', 'k')).toMatchObject({ version: '50', value: 50 });
    } finally {
      await sink.close();
    }
  });

  it('shares one open directory between the sinks of a process, and closes it with the last one', async () => {
    const path = freshPath();
    const [a, b] = [createRocksdbSink({ path }), createRocksdbSink({ path })];
    await a.apply([entry('ns', 1, 'k', 'upsert', 'from a')]);
    expect(await b.read('ns', 'k')).toMatchObject({ value: 'from a' });
    await a.close();
    await b.apply([entry('ns', 2, 'k', 'upsert', 'from b')]);
    await b.close();
    const c = createRocksdbSink({ path }); // opens the directory again: the last close released it
    expect(await c.read('ns', 'k')).toMatchObject({ version: '2', value: 'from b' });
    await c.close();
  });

  it('names the bad field of a config, and refuses to apply after close', async () => {
    expect(() => createRocksdbSink({} as never)).toThrow(RocksdbSinkConfigError);
    expect(() => createRocksdbSink({ path: '' })).toThrow(/invalid rocksdb sink config: path/);
    const sink = createRocksdbSink({ path: freshPath() });
    await sink.close();
    await expect(sink.apply([entry('ns', 1, 'k', 'upsert')])).rejects.toThrow(/is closed/);
  });
});
