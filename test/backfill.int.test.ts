import { setTimeout as sleep } from 'node:timers/promises';
import { createPostgresSink } from '@walbox/sink-postgres';
import { describe, expect, it } from 'vitest';
import type { Entry, Sink } from '../src/index.js';
import { businessSchema } from './support/business-schema.js';
import { isolatedWalbox } from './support/db.js';
import { FAST, stopAfterEach } from './support/dispatchers.js';
import { RecordingSink } from './support/recording-sink.js';

// A replica that starts empty ends equal to a table that held rows before it was captured, while writers
// change the table during the backfill.
const { pool, walbox, schema } = await isolatedWalbox('backfill');
const biz = await businessSchema(pool, schema);
const replica = `${schema}_replica`;
const dispatchers = stopAfterEach();
const ROWS = 100_000;

/** The newest non-deleted entry per key, as a version-guarded store would keep it. */
function latest(applied: readonly Entry[]): Map<string, unknown> {
  const newest = new Map<string, Entry>();
  for (const e of applied) {
    const seen = newest.get(e.key);
    if (!seen || BigInt(e.id) > BigInt(seen.id)) newest.set(e.key, e);
  }
  const state = new Map<string, unknown>();
  for (const [key, e] of newest) if (e.op !== 'delete') state.set(key, e.payload);
  return state;
}

async function drained(namespace: string): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const status = await walbox.status({ namespace });
    if (status.every((s) => s.pending === 0 && s.parked === 0)) return;
    if (Date.now() > deadline) throw new Error(`not drained: ${JSON.stringify(status)}`);
    await sleep(200);
  }
}

describe('backfill', () => {
  it(`a ${ROWS.toLocaleString('en')}-row table, backfilled while writers update, insert and delete, ends equal in every replica`, async () => {
    await pool.query(`create table "${biz}".items (id int primary key, n int not null, label text)`);
    await pool.query(
      `insert into "${biz}".items select g, 0, 'row ' || g from generate_series(1, ${ROWS}) g`,
    );
    await walbox.namespaces.upsert({ name: 'items', targets: ['pg', 'mem'], partitions: 4 });
    const memory = new RecordingSink('mem');
    const pg = createPostgresSink({ name: 'pg', pool, schema: replica });
    const d = walbox.dispatcher({ sinks: { pg: pg as Sink, mem: memory }, ...FAST });
    dispatchers.push(d);
    await d.start();

    let writing = true;
    let writes = 0;
    const writers = Array.from({ length: 3 }, async (_, w) => {
      while (writing) {
        const id = 1 + Math.floor(Math.random() * ROWS);
        const roll = Math.random();
        if (roll < 0.8) await pool.query(`update "${biz}".items set n = n + 1 where id = $1`, [id]);
        else if (roll < 0.9) await pool.query(`delete from "${biz}".items where id = $1`, [id]);
        else {
          await pool.query(
            `insert into "${biz}".items values ($1, 0, $2) on conflict (id) do update set label = excluded.label`,
            [ROWS + 1 + Math.floor(Math.random() * 1000), `writer ${w}`],
          );
        }
        writes++;
      }
    });
    const progress: number[] = [];
    let result: Awaited<ReturnType<typeof walbox.captureTable>>;
    try {
      result = await walbox.captureTable(`${biz}.items`, {
        namespace: 'items',
        keyColumn: 'id',
        backfill: { chunkSize: 2000, onProgress: (p) => progress.push(p.rowsDone) },
      });
    } finally {
      writing = false;
      await Promise.all(writers);
    }
    expect(result?.done).toBe(true);
    // Counted when the backfill started; the writers were already inserting and deleting a few rows.
    expect(result?.rowsTotal).toBeGreaterThan(ROWS * 0.99);
    expect(result?.rowsDone).toBeGreaterThan(ROWS * 0.99);
    expect(progress.length).toBeGreaterThan(10);
    expect(writes).toBeGreaterThan(100); // the writers did run during the backfill
    await drained('items');

    const { rows } = await pool.query<{ id: number; row: unknown }>(
      `select id, to_jsonb(t) as row from "${biz}".items t`,
    );
    const table = new Map(rows.map((r) => [String(r.id), r.row]));
    const { rows: copy } = await pool.query<{ key: string; payload: unknown }>(
      `select key, payload from "${replica}".items where not deleted`,
    );
    expect(new Map(copy.map((r) => [r.key, r.payload]))).toEqual(table);
    expect(latest(memory.applied)).toEqual(table);
    await pool.query(`drop schema if exists "${replica}" cascade`);
  }, 300_000);

  it('resumes after a crash at the chunk after the last committed one', async () => {
    await pool.query(`create table "${biz}".small (code text primary key, v int not null)`);
    await pool.query(
      `insert into "${biz}".small select 'c' || lpad(g::text, 5, '0'), g from generate_series(1, 5000) g`,
    );
    await walbox.namespaces.upsert({ name: 'small', targets: ['t'] });
    await walbox.captureTable(`${biz}.small`, { namespace: 'small', keyColumn: 'code' });
    let chunks = 0;
    await expect(
      walbox.backfill(
        `${biz}.small`,
        { namespace: 'small', keyColumn: 'code' },
        {
          chunkSize: 1000,
          onProgress: () => {
            if (++chunks === 2) throw new Error('crash');
          },
        },
      ),
    ).rejects.toThrow('crash');
    const resumed = await walbox.backfill(
      `${biz}.small`,
      { namespace: 'small', keyColumn: 'code' },
      { chunkSize: 1000 },
    );
    expect(resumed).toMatchObject({ rowsDone: 5000, rowsTotal: 5000, done: true });
    const { rows } = await pool.query<{ n: number; keys: number }>(
      `select count(*)::int as n, count(distinct key)::int as keys from "${schema}".entries
        where namespace = 'small' and headers->>'source' = 'backfill'`,
    );
    expect(rows[0]).toEqual({ n: 5000, keys: 5000 }); // every row once: nothing skipped, nothing twice
    const { rows: state } = await pool.query(
      `select rows_done::int, rows_total::int, finished_at is not null as finished from "${schema}".backfills
        where namespace = 'small'`,
    );
    expect(state).toEqual([{ rows_done: 5000, rows_total: 5000, finished: true }]);
  });
});
