import { isDeepStrictEqual } from 'node:util';
import { createRocksdbSink, type RocksdbItem, type RocksdbSink } from '@walbox/sink-rocksdb';
import type pg from 'pg';
import { cell } from './print.js';

/**
 * An embedded RocksDB replica of the demo's namespaces, @walbox/sink-rocksdb in `dir`: replication with no
 * server at all (the dispatcher's process holds the directory).
 */
export function openDemoRocksdb(dir: string): RocksdbSink {
  return createRocksdbSink({ name: 'rocks', path: dir });
}

interface LatestEntry {
  key: string;
  id: string;
  op: string;
  payload: unknown;
}

/**
 * What the replica holds for `keys` of the users namespace, read back with the sink's `read`, as one line.
 * Throws where it disagrees with the log table: each key holds its latest entry (a tombstone for a delete),
 * and a key with no entry (a rolled-back append) holds nothing.
 */
export async function describeReplica(
  replica: RocksdbSink,
  pool: pg.Pool,
  schema: string,
  keys: readonly string[],
): Promise<string> {
  const { rows } = await pool.query<LatestEntry>(
    `select distinct on (key) key, id::text as id, op, payload from "${schema}".entries
      where namespace = 'users' and key = any($1) order by key, id desc`,
    [keys],
  );
  const latest = new Map(rows.map((r) => [r.key, r]));
  const found = await Promise.all(keys.map(async (k) => [k, await replica.read('users', k)] as const));
  for (const [key, item] of found) {
    const problem = disagreement(latest.get(key), item);
    if (problem) throw new Error(`the RocksDB replica disagrees with the log for users/${key}: ${problem}`);
  }
  return found
    .map(([key, item]) => `${key} → ${!item ? 'nothing' : item.deleted ? 'deleted' : cell(item.value, 40)}`)
    .join('; ');
}

/** Why `item` is not what the latest entry of its key wrote; undefined when it is. */
function disagreement(entry: LatestEntry | undefined, item: RocksdbItem | undefined): string | undefined {
  if (!entry) return item ? `it holds #${item.version}, the log has no entry` : undefined;
  if (!item) return `it holds nothing, the log has #${entry.id}`;
  if (item.version !== entry.id) return `it holds #${item.version}, the latest entry is #${entry.id}`;
  if (item.deleted !== (entry.op === 'delete'))
    return `#${entry.id} is ${entry.op === 'delete' ? 'a delete' : 'an upsert'}, it holds ${item.deleted ? 'a tombstone' : 'a value'}`;
  if (!item.deleted && !isDeepStrictEqual(item.value, entry.payload))
    return `the value of #${entry.id} differs`;
  return undefined;
}
