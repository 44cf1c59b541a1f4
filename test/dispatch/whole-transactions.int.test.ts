import { describe, expect, it } from 'vitest';
import type { Entry, SinkContext } from '../../src/index.js';
import { isolatedWalbox } from '../support/db.js';
import { stopAfterEach } from '../support/dispatchers.js';
import { RecordingSink, until } from '../support/recording-sink.js';

const { pool, walbox } = await isolatedWalbox('whole-transactions');
const running = stopAfterEach();

/** A sink that also keeps what the context said about each batch's source transactions. */
class TransactionRecordingSink extends RecordingSink {
  readonly told: Array<SinkContext['transactions']> = [];
  override async apply(batch: readonly Entry[], ctx: SinkContext) {
    this.told.push(ctx.transactions);
    return super.apply(batch, ctx);
  }
}

/**
 * `writers` transactions open at once, appending one entry each in turn, so that their entries interleave in
 * log order (ids), then all commit. Returns the ids of each transaction's entries.
 */
async function interleaved(namespace: string, writers: number, perWriter: number, tag: string) {
  const clients = await Promise.all(Array.from({ length: writers }, () => pool.connect()));
  const ids = clients.map(() => [] as string[]);
  try {
    for (const c of clients) await c.query('begin');
    for (let j = 0; j < perWriter; j++) {
      for (const [w, c] of clients.entries()) {
        const e = await walbox.append(c, {
          namespace,
          key: `${tag}-w${w}-k${j % 3}`,
          op: 'upsert',
          payload: { j },
        });
        ids[w]!.push(e.id);
      }
    }
    for (const c of clients) await c.query('commit');
  } finally {
    for (const c of clients) c.release();
  }
  return ids;
}

/** Every source transaction of `expected` (ids per transaction) arrived whole in one batch, once. */
function expectWhole(sink: TransactionRecordingSink, expected: string[][]) {
  const batchOf = new Map<string, number>();
  sink.batches.forEach((batch, i) => {
    for (const e of batch) {
      expect(batchOf.has(e.id), `entry ${e.id} delivered twice`).toBe(false);
      batchOf.set(e.id, i);
    }
  });
  for (const tx of expected) {
    const batches = new Set(tx.map((id) => batchOf.get(id)));
    expect(batches.size, `a transaction of ${tx.length} entries came in batches ${[...batches]}`).toBe(1);
  }
  // The context names each batch's transactions with exactly their entries in it, in order of first entry.
  sink.batches.forEach((batch, i) => {
    const told = sink.told[i]!;
    expect(told.flatMap((t) => t.entryIds).sort()).toEqual(batch.map((e) => e.id).sort());
    for (const t of told) expect(batch.filter((e) => e.xid === t.xid).map((e) => e.id)).toEqual(t.entryIds);
  });
}

describe('source transactions stay whole', () => {
  it('interleaved transactions are never split across batches, though each is cut by the batch size', async () => {
    await walbox.namespaces.upsert({ name: 'orders', targets: ['t'], partitions: 1 });
    // A backlog first, so that every read stops at its limit in the middle of interleaved transactions.
    const expected: string[][] = [];
    for (let round = 0; round < 4; round++)
      expected.push(...(await interleaved('orders', 4, 10, `r${round}`)));
    const sink = new TransactionRecordingSink('t');
    const d = walbox.dispatcher({ sinks: { t: sink }, batchSize: 7 });
    running.push(d);
    await d.start();
    // And more while it runs.
    for (let round = 4; round < 7; round++)
      expected.push(...(await interleaved('orders', 3, 8, `r${round}`)));
    const total = expected.flat().length;
    await until(() => sink.applied.length >= total, 30_000, 'delivery');
    expect(sink.applied).toHaveLength(total);
    expectWhole(sink, expected);
    // Batches did stop at the limit and grow past it (the test would pass trivially with one huge batch).
    expect(sink.batches.length).toBeGreaterThan(4);
    expect(Math.max(...sink.batches.map((b) => b.length))).toBeGreaterThan(7);
    for (const ids of sink.byKey().values()) {
      expect(ids.map(BigInt)).toEqual([...ids.map(BigInt)].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0)));
    }
  });

  it('a transaction larger than the batch size arrives in one batch', async () => {
    await walbox.namespaces.upsert({ name: 'bulk', targets: ['t'], partitions: 1 });
    const client = await pool.connect();
    let ids: string[];
    try {
      await client.query('begin');
      const stored = await walbox.appendMany(
        client,
        Array.from({ length: 40 }, (_, i) => ({
          namespace: 'bulk',
          key: `k${i}`,
          op: 'upsert',
          payload: { i },
        })),
      );
      ids = stored.map((e) => e.id);
      await client.query('commit');
    } finally {
      client.release();
    }
    const sink = new TransactionRecordingSink('t');
    const d = walbox.dispatcher({ sinks: { t: sink }, batchSize: 10 });
    running.push(d);
    await d.start();
    await until(() => sink.applied.length >= 40, 20_000, 'delivery');
    expectWhole(sink, [ids]);
    expect(sink.batches).toHaveLength(1);
  });
});
