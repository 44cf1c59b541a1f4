// partitionKey: entries of related keys routed to one partition, so that one source transaction's entries
// for a target reach its sink in one apply call; stored in the log, validated like a key.
import { describe, expect, it } from 'vitest';
import { InvalidEntryError } from '../src/index.js';
import { isolatedWalbox } from './support/db.js';
import { stopAfterEach } from './support/dispatchers.js';
import { RecordingSink, until } from './support/recording-sink.js';

const { pool, walbox, schema } = await isolatedWalbox('partition-key');
const running = stopAfterEach();
const PARTITIONS = 16;

async function partitionOf(value: string): Promise<number> {
  const { rows } = await pool.query<{ p: number }>(`select "${schema}".partition_of($1, $2, 'key') as p`, [
    value,
    PARTITIONS,
  ]);
  return rows[0]!.p;
}

/** Appends one user's change (profile, two orders, a session) in one transaction, with or without partitionKey. */
async function mutation(namespace: string, user: string, partitionKey: string | undefined, version: number) {
  const client = await pool.connect();
  try {
    await client.query('begin');
    const keys = [`user:${user}`, `order:${user}-1`, `order:${user}-2`, `session:${user}`];
    const appended = await walbox.appendMany(
      client,
      keys.map((key) => ({
        namespace,
        key,
        op: 'upsert',
        payload: { user, version },
        ...(partitionKey ? { partitionKey } : {}),
      })),
    );
    await client.query('commit');
    return appended;
  } finally {
    client.release();
  }
}

describe('partitionKey', () => {
  it('routes entries of different keys to the partition of their partition key, and stores it', async () => {
    await walbox.namespaces.upsert({ name: 'routed', targets: ['r'], partitions: PARTITIONS });
    const appended = await mutation('routed', 'u1', 'user:u1', 1);
    const expected = await partitionOf('user:u1');
    expect(appended.map((e) => e.partition)).toEqual([expected, expected, expected, expected]);
    expect(appended.map((e) => e.partitionKey)).toEqual(['user:u1', 'user:u1', 'user:u1', 'user:u1']);
    // The single-entry path (append_one) and plain SQL callers of append_json route the same way.
    const one = await walbox.append(pool, {
      namespace: 'routed',
      key: 'order:u1-3',
      op: 'upsert',
      payload: 1,
      partitionKey: 'user:u1',
    });
    expect(one.partition).toBe(expected);
    const { rows } = await pool.query(
      `select key, partition, partition_key from "${schema}".entries where namespace = 'routed' order by id`,
    );
    expect(rows).toHaveLength(5);
    for (const row of rows) expect(row).toMatchObject({ partition: expected, partition_key: 'user:u1' });
    // Without a partition key, the key chooses (and none is stored).
    const plain = await walbox.append(pool, {
      namespace: 'routed',
      key: 'order:u1-3',
      op: 'upsert',
      payload: 2,
    });
    expect(plain.partition).toBe(await partitionOf('order:u1-3'));
    expect(plain.partitionKey).toBeNull();
  });

  it("brings one transaction's entries of related keys to the sink in one apply call, in order per key", async () => {
    const run = async (namespace: string, withPartitionKey: boolean) => {
      await walbox.namespaces.upsert({ name: namespace, targets: [namespace], partitions: PARTITIONS });
      const sink = new RecordingSink(namespace);
      const d = walbox.dispatcher({ sinks: { [namespace]: sink }, batchSize: 400 });
      running.push(d);
      await d.start();
      const mutations = [];
      for (let v = 1; v <= 5; v++) {
        for (const user of ['u1', 'u2', 'u3']) {
          mutations.push(await mutation(namespace, user, withPartitionKey ? `user:${user}` : undefined, v));
        }
      }
      const ids = mutations.flat().map((e) => e.id);
      await until(() => ids.every((id) => sink.ids().includes(id)), 20_000, `${namespace}: every entry`);
      await d.stop();
      // Per key, versions arrive in order.
      const versions = new Map<string, number[]>();
      for (const e of sink.applied) {
        versions.set(e.key, [...(versions.get(e.key) ?? []), (e.payload as { version: number }).version]);
      }
      expect(versions.size).toBe(12);
      for (const v of versions.values()) expect(v).toEqual([1, 2, 3, 4, 5]);
      // How many apply calls each source transaction's entries were spread over.
      return mutations.map((m) => {
        const batches = new Set(m.map((e) => sink.batches.findIndex((b) => b.some((x) => x.id === e.id))));
        return batches.size;
      });
    };
    const together = await run('together', true);
    expect(together).toEqual(together.map(() => 1));
    // The control: the same keys without a partition key spread over partitions, drained apart.
    const apart = await run('apart', false);
    expect(apart.some((n) => n > 1)).toBe(true);
  });

  it('refuses an empty or over-long partition key, from the SDK and from SQL, and writes nothing', async () => {
    await walbox.namespaces.upsert({ name: 'bad', targets: ['b'] });
    for (const partitionKey of ['', 'x'.repeat(513)]) {
      const err = await walbox
        .append(pool, { namespace: 'bad', key: 'k', op: 'upsert', payload: 1, partitionKey })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidEntryError);
      expect((err as InvalidEntryError).field).toBe('partitionKey');
    }
    for (const fn of ['append_json', 'append_one']) {
      const input = { namespace: 'bad', key: 'k', op: 'upsert', payload: 1, partition_key: '' };
      const err = await pool
        .query(`select * from "${schema}".${fn}($1::json)`, [
          JSON.stringify(fn === 'append_json' ? [input] : input),
        ])
        .catch((e: { code?: string; message: string }) => e);
      expect(err).toMatchObject({ code: 'WB003', message: expect.stringContaining('partition key') });
    }
    const { rows } = await pool.query(
      `select count(*)::int as n from "${schema}".entries where namespace = 'bad'`,
    );
    expect(rows[0].n).toBe(0);
  });
});
