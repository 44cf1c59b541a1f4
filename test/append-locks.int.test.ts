import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { businessSchema } from './support/business-schema.js';
import { databaseUrl, isolatedWalbox } from './support/db.js';

// The append path's key locks are row locks of <schema>.key_locks (docs/ordering.md): they take no room in
// Postgres's shared lock table, so one transaction may append any number of keys, and two producers of
// disjoint keys never wait for each other.
const { pool, walbox, schema } = await isolatedWalbox('append-locks');
const biz = await businessSchema(pool, schema);
const ROWS = 50_000;
const other = new pg.Pool({ connectionString: databaseUrl(), max: 8 });
other.on('error', () => {});

beforeAll(async () => {
  await walbox.namespaces.upsert({ name: 'items', targets: ['t'] });
  await walbox.namespaces.upsert({ name: 'events', targets: ['t'] });
  await pool.query(`create table "${biz}".items (id int primary key, n int not null)`);
  await walbox.captureTable(`${biz}.items`, { namespace: 'items', keyColumn: 'id' });
  // The commit order, recorded independently of walbox (as in ordering.int.test.ts).
  await pool.query(`create table "${schema}".commits (xid xid8 primary key, seq bigint not null)`);
  await pool.query(`create sequence "${schema}".commit_seq`);
});

afterAll(async () => {
  await other.end();
});

async function recordCommit(client: pg.PoolClient): Promise<void> {
  await client.query(
    `insert into "${schema}".commits values (pg_current_xact_id(), nextval('"${schema}".commit_seq'))`,
  );
}

/** Advisory and other heavyweight locks a backend holds: what fills the shared lock table. */
async function heavyweightLocks(pid: number): Promise<number> {
  const { rows } = await other.query<{ n: number }>(
    `select count(*)::int as n from pg_locks where pid = $1 and locktype = 'advisory'`,
    [pid],
  );
  return rows[0]!.n;
}

describe('append locks', () => {
  it(`a bulk insert and update of ${ROWS.toLocaleString('en')} captured rows commit with the default lock table, in order per key against concurrent producers`, async () => {
    const { rows: setting } = await pool.query<{ v: string }>(
      `select current_setting('max_locks_per_transaction') as v`,
    );
    expect(Number(setting[0]!.v)).toBeLessThanOrEqual(64); // the server's default: no help from configuration

    const bulk = async (sql: string) => {
      const client = await pool.connect();
      try {
        await client.query('begin');
        await client.query(sql);
        await recordCommit(client);
        await client.query('commit');
      } finally {
        client.release();
      }
    };
    // Producers appending to keys the bulk statements also write, while those run: each must wait for the
    // bulk transaction's key lock, or draw its id after the bulk's and commit before it.
    let running = true;
    const producers = Array.from({ length: 4 }, async (_, p) => {
      let i = 0;
      while (running) {
        const client = await other.connect();
        try {
          await client.query('begin');
          await walbox.append(client, {
            namespace: 'items',
            key: String((p * 7919 + i * 104_729) % 2000),
            op: 'event',
            payload: { p, i },
          });
          await recordCommit(client);
          await client.query('commit');
        } finally {
          client.release();
        }
        i++;
      }
      return i;
    });
    try {
      await bulk(`insert into "${biz}".items select g, 0 from generate_series(0, ${ROWS - 1}) g`);
      await bulk(`update "${biz}".items set n = n + 1`);
    } finally {
      running = false;
    }
    const produced = (await Promise.all(producers)).reduce((a, b) => a + b, 0);

    const { rows: counts } = await pool.query<{ n: number }>(
      `select count(*)::int as n from "${schema}".entries where namespace = 'items'`,
    );
    expect(counts[0]!.n).toBe(2 * ROWS + produced);
    expect(produced).toBeGreaterThan(0);
    // Per key, id order is commit order.
    const { rows: backwards } = await pool.query<{ n: number }>(
      `select count(*)::int as n from (
         select c.seq < lag(c.seq) over (partition by e.key order by e.id) as back
           from "${schema}".entries e join "${schema}".commits c on c.xid = e.xid
          where e.namespace = 'items') s
        where back`,
    );
    expect(backwards[0]!.n).toBe(0);
  }, 240_000);

  it('2,000 single appends in one transaction hold one advisory lock, not one per key', async () => {
    const client = await pool.connect();
    try {
      await client.query('begin');
      const { rows } = await client.query<{ pid: number }>('select pg_backend_pid() as pid');
      for (let i = 0; i < 2000; i++) {
        await walbox.append(client, { namespace: 'events', key: `single-${i}`, op: 'event', payload: i });
      }
      expect(await heavyweightLocks(rows[0]!.pid)).toBe(1); // the namespace's, shared
      await client.query('commit');
    } finally {
      client.release();
    }
    const { rows } = await pool.query<{ n: number }>(
      `select count(*)::int as n from "${schema}".entries where key like 'single-%'`,
    );
    expect(rows[0]!.n).toBe(2000);
  });

  it('a writer of many keys holds back the writers of its keys and nobody else', async () => {
    const batch = (from: number) =>
      Array.from({ length: 1000 }, (_, i) => ({
        namespace: 'events',
        key: `many-${from + i}`,
        op: 'event',
        payload: i,
      }));
    const holder = await pool.connect();
    const a = await other.connect();
    const b = await other.connect();
    try {
      await holder.query('begin');
      await walbox.appendMany(holder, batch(0));
      // Disjoint keys: no wait at all (the 0.1 design locked the whole namespace for batches of > 64 keys).
      await a.query('begin');
      await a.query(`set local lock_timeout = '2s'`);
      expect(await walbox.appendMany(a, batch(1000))).toHaveLength(1000);
      await a.query('commit');
      // One shared key: waits for the holder.
      await b.query('begin');
      await b.query(`set local lock_timeout = '300ms'`);
      await expect(walbox.append(b, { namespace: 'events', key: 'many-500', op: 'event' })).rejects.toThrow(
        /lock timeout/,
      );
      await b.query('rollback');
    } finally {
      await holder.query('rollback');
      holder.release();
      a.release();
      b.release();
    }
  });

  it('pruning the key lock table keeps the rows that are held, and appends go on', async () => {
    const holder = await pool.connect();
    try {
      await holder.query('begin');
      await walbox.append(holder, { namespace: 'events', key: 'single-5', op: 'event' }); // its row exists
      const { rows } = await pool.query<{ n: number }>(`select "${schema}".prune_key_locks(100000, 0) as n`);
      expect(rows[0]!.n).toBeGreaterThan(0);
      const { rows: left } = await pool.query<{ n: number }>(
        `select count(*)::int as n from "${schema}".key_locks`,
      );
      expect(left[0]!.n).toBe(1); // the held key's row
      // Its lock still holds: a second writer of the key waits.
      const b = await other.connect();
      try {
        await b.query('begin');
        await b.query(`set local lock_timeout = '300ms'`);
        await expect(walbox.append(b, { namespace: 'events', key: 'single-5', op: 'event' })).rejects.toThrow(
          /lock timeout/,
        );
        await b.query('rollback');
      } finally {
        b.release();
      }
    } finally {
      await holder.query('commit');
      holder.release();
    }
    // A pruned key is locked again by its next writer.
    await walbox.append(pool, { namespace: 'events', key: 'single-1', op: 'event' });
    const { rows } = await pool.query<{ n: number }>(`select count(*)::int as n from "${schema}".key_locks`);
    expect(rows[0]!.n).toBe(2);
  });
});
