import pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { InvalidConfigError, InvalidNameError, UnknownNamespaceError } from '../src/index.js';
import { businessSchema } from './support/business-schema.js';
import { databaseUrl, isolatedWalbox } from './support/db.js';

const { pool, walbox, schema } = await isolatedWalbox('capture-audit');
const biz = await businessSchema(pool, schema);
const accounts = `${biz}.accounts`;

beforeAll(async () => {
  await pool.query(
    `create table "${biz}".accounts (id text primary key, owner text not null, balance int not null)`,
  );
  await walbox.namespaces.upsert({ name: 'accounts', targets: ['search'] });
  await walbox.namespaces.upsert({ name: 'emails' });
  await walbox.captureTable(accounts, { namespace: 'accounts', keyColumn: 'id' });
});

interface Logged {
  namespace: string;
  key: string;
  op: string;
  payload: unknown;
  before: unknown;
  headers: Record<string, unknown>;
  targets: string[];
  actor: string | null;
  xid: string;
}

/** Runs `work` and returns the entries that became visible meanwhile, in log order. */
async function appendedBy(work: () => Promise<unknown>): Promise<Logged[]> {
  const { rows } = await pool.query(`select coalesce(max(id), 0) as id from "${schema}".entries`);
  await work();
  const after = await pool.query<Logged>(
    `select namespace, key, op, payload, before, headers, targets, actor, xid::text
       from "${schema}".entries where id > $1 order by id`,
    [rows[0].id],
  );
  return after.rows;
}

const sql = (text: string, values?: unknown[]) => () => pool.query(text, values);
const headers = (operation: string) => ({ source: 'capture', table: accounts, operation });

/** One transaction on a connection of its own, with `walbox.actor` set for it. */
async function as(actor: string, ...statements: [string, unknown[]?][]): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('begin');
    await client.query(`select set_config('walbox.actor', $1, true)`, [actor]);
    for (const [text, values] of statements) await client.query(text, values);
    await client.query('commit');
  } finally {
    client.release();
  }
}

describe('captureTable', () => {
  it('appends an upsert with the new row for an INSERT', async () => {
    const logged = await appendedBy(sql(`insert into ${accounts} values ('a1', 'ann', 10)`));
    expect(logged).toMatchObject([
      {
        namespace: 'accounts',
        key: 'a1',
        op: 'upsert',
        payload: { id: 'a1', owner: 'ann', balance: 10 },
        before: null,
        headers: headers('insert'),
        targets: ['search'],
      },
    ]);
  });

  it('appends an upsert with the new row and the old row as before-image for an UPDATE', async () => {
    const logged = await appendedBy(sql(`update ${accounts} set balance = 20 where id = 'a1'`));
    expect(logged).toMatchObject([
      {
        key: 'a1',
        op: 'upsert',
        payload: { id: 'a1', owner: 'ann', balance: 20 },
        before: { id: 'a1', owner: 'ann', balance: 10 },
        headers: headers('update'),
      },
    ]);
  });

  it('appends nothing for an UPDATE that changes nothing', async () => {
    expect(await appendedBy(sql(`update ${accounts} set balance = balance where id = 'a1'`))).toEqual([]);
  });

  it('appends a delete of the old key, then an upsert of the new one, for an UPDATE of the key', async () => {
    const logged = await appendedBy(sql(`update ${accounts} set id = 'a2' where id = 'a1'`));
    expect(logged).toMatchObject([
      {
        key: 'a1',
        op: 'delete',
        payload: null,
        before: { id: 'a1', owner: 'ann', balance: 20 },
        headers: headers('update'),
      },
      {
        key: 'a2',
        op: 'upsert',
        payload: { id: 'a2', owner: 'ann', balance: 20 },
        before: null,
        headers: headers('update'),
      },
    ]);
    expect(logged[0]!.xid).toBe(logged[1]!.xid);
  });

  it('appends a delete with the old row as before-image for a DELETE', async () => {
    const logged = await appendedBy(sql(`delete from ${accounts} where id = 'a2'`));
    expect(logged).toMatchObject([
      {
        key: 'a2',
        op: 'delete',
        payload: null,
        before: { id: 'a2', owner: 'ann', balance: 20 },
        headers: headers('delete'),
      },
    ]);
  });

  it('appends one entry per row of a multi-row statement, in one transaction', async () => {
    const logged = await appendedBy(
      sql(`insert into ${accounts} values ('m1', 'mo', 1), ('m2', 'mo', 2), ('m3', 'mo', 3)`),
    );
    expect(logged.map((e) => [e.key, e.op])).toEqual([
      ['m1', 'upsert'],
      ['m2', 'upsert'],
      ['m3', 'upsert'],
    ]);
    expect(new Set(logged.map((e) => e.xid)).size).toBe(1);
  });

  it('leaves no entry when the captured write rolls back', async () => {
    const logged = await appendedBy(async () => {
      const client = await pool.connect();
      try {
        await client.query('begin');
        await client.query(`insert into ${accounts} values ('r1', 'rita', 1)`);
        const inside = await client.query(`select op from "${schema}".entries where key = 'r1'`);
        expect(inside.rows).toEqual([{ op: 'upsert' }]);
        await client.query('rollback');
      } finally {
        client.release();
      }
    });
    expect(logged).toEqual([]);
    expect((await pool.query(`select 1 from ${accounts} where id = 'r1'`)).rows).toEqual([]);
  });

  it('records `set local walbox.actor` as the actor, and the database user when it is not set', async () => {
    const logged = await appendedBy(() =>
      as(
        'alice',
        [`insert into ${accounts} values ('act1', 'al', 1)`],
        [`set local walbox.actor = 'bob'`],
        [`update ${accounts} set balance = 2 where id = 'act1'`],
      ),
    );
    expect(logged.map((e) => e.actor)).toEqual(['alice', 'bob']);

    // A brand-new session, which has never seen the setting.
    const client = new pg.Client({ connectionString: databaseUrl() });
    await client.connect();
    try {
      const { rows } = await client.query('select session_user as user');
      const plain = await appendedBy(() =>
        client.query(`update ${accounts} set balance = 3 where id = 'act1'`),
      );
      expect(plain.map((e) => e.actor)).toEqual([rows[0].user]);
    } finally {
      await client.end();
    }
  });

  // Once a session has run `set local walbox.actor`, current_setting('walbox.actor', true) returns '' rather
  // than NULL after that transaction: the append paths treat '' as unset (nullif), or pooled connections
  // would record actor '' instead of the database user.
  it('falls back to the database user on a connection that earlier set walbox.actor', async () => {
    const client = new pg.Client({ connectionString: databaseUrl() });
    await client.connect();
    try {
      await client.query('begin');
      await client.query(`set local walbox.actor = 'alice'`);
      await client.query(`insert into ${accounts} values ('act2', 'al', 1)`);
      await client.query('commit');
      const { rows } = await client.query('select session_user as user');
      const later = await appendedBy(() =>
        client.query(`update ${accounts} set balance = 2 where id = 'act2'`),
      );
      expect(later.map((e) => e.actor)).toEqual([rows[0].user]);
    } finally {
      await client.end();
    }
  });

  it('rejects a bad table, key column or namespace and installs no trigger', async () => {
    await pool.query(`create table "${biz}".other (code text primary key)`);
    const attempts: [string, { namespace: string; keyColumn: string }, unknown, string][] = [
      [`${biz}.other`, { namespace: 'accounts', keyColumn: 'id' }, InvalidConfigError, 'INVALID_CONFIG'],
      [`${biz}.missing`, { namespace: 'accounts', keyColumn: 'code' }, InvalidConfigError, 'INVALID_CONFIG'],
      [`${biz}.other`, { namespace: 'accounts', keyColumn: 'Code' }, InvalidNameError, 'INVALID_NAME'],
      [`${biz}.Other`, { namespace: 'accounts', keyColumn: 'code' }, InvalidNameError, 'INVALID_NAME'],
      [`a.${biz}.other`, { namespace: 'accounts', keyColumn: 'code' }, InvalidNameError, 'INVALID_NAME'],
      [`${biz}.other`, { namespace: 'Accounts', keyColumn: 'code' }, InvalidNameError, 'INVALID_NAME'],
      [`${biz}.other`, { namespace: 'nope', keyColumn: 'code' }, UnknownNamespaceError, 'UNKNOWN_NAMESPACE'],
    ];
    for (const [table, options, errorClass, code] of attempts) {
      const err = await walbox.captureTable(table, options).catch((e: unknown) => e);
      expect(err, `${table} ${JSON.stringify(options)}`).toBeInstanceOf(errorClass);
      expect(err).toMatchObject({ code });
    }
    const missing = await walbox
      .captureTable(`${biz}.other`, { namespace: 'accounts', keyColumn: 'id' })
      .catch((e: unknown) => e);
    expect(missing).toMatchObject({ field: 'keyColumn' });
    const { rows } = await pool.query(
      `select count(*)::int as n from pg_trigger where tgrelid = $1::regclass and not tgisinternal`,
      [`"${biz}".other`],
    );
    expect(rows).toEqual([{ n: 0 }]);
    // Writes to the table still work and append nothing.
    expect(await appendedBy(sql(`insert into "${biz}".other values ('c1')`))).toEqual([]);
  });

  it('stops capturing after uncaptureTable', async () => {
    await pool.query(`create table "${biz}".ledger (id int primary key, amount int not null)`);
    const ledger = `${biz}.ledger`;
    await walbox.captureTable(ledger, { namespace: 'accounts', keyColumn: 'id' });
    expect(await appendedBy(sql(`insert into ${ledger} values (1, 5)`))).toMatchObject([
      { key: '1', op: 'upsert', payload: { id: 1, amount: 5 } },
    ]);
    await walbox.uncaptureTable(ledger);
    expect(await appendedBy(sql(`insert into ${ledger} values (2, 5)`))).toEqual([]);
    expect(await appendedBy(sql(`delete from ${ledger}`))).toEqual([]);
    await walbox.uncaptureTable(ledger); // idempotent
  });
});

describe('the audit view', () => {
  it('has the documented leading columns', async () => {
    const { fields } = await pool.query(`select * from "${schema}".audit limit 0`);
    expect(fields.map((f) => f.name).slice(0, 13)).toEqual([
      'id',
      'changed_at',
      'actor',
      'namespace',
      'key',
      'op',
      'transaction_id',
      'before',
      'after',
      'headers',
      'targets',
      'deliver_at',
      'idempotency_key',
    ]);
  });

  it('answers "what happened to this key", oldest first', async () => {
    await as('alice', [`insert into ${accounts} values ('h1', 'hal', 100)`]);
    await as('bob', [`update ${accounts} set balance = 150 where id = 'h1'`]);
    await as('alice', [`delete from ${accounts} where id = 'h1'`]);

    const { rows } = await pool.query(
      `select id, changed_at, actor, op, before, after
         from "${schema}".audit
        where namespace = 'accounts' and key = $1
        order by id`,
      ['h1'],
    );
    expect(rows.map(({ actor, op, before, after }) => ({ actor, op, before, after }))).toEqual([
      { actor: 'alice', op: 'upsert', before: null, after: { id: 'h1', owner: 'hal', balance: 100 } },
      {
        actor: 'bob',
        op: 'upsert',
        before: { id: 'h1', owner: 'hal', balance: 100 },
        after: { id: 'h1', owner: 'hal', balance: 150 },
      },
      { actor: 'alice', op: 'delete', before: { id: 'h1', owner: 'hal', balance: 150 }, after: null },
    ]);
    const times = rows.map((r) => (r.changed_at as Date).getTime());
    expect(times).toEqual([...times].sort((a, b) => a - b));
  });

  it('answers "what did this actor change in this time range"', async () => {
    // Text, not Date: the bounds keep Postgres's microseconds.
    const now = async () =>
      (await pool.query<{ t: string }>('select clock_timestamp()::text as t')).rows[0]!.t;
    await as('carol', [`insert into ${accounts} values ('t1', 'cat', 1)`]);
    const from = await now();
    await as('carol', [`insert into ${accounts} values ('t2', 'cat', 2)`]);
    await as('dave', [`insert into ${accounts} values ('t3', 'dan', 3)`]);
    await as(
      'carol',
      [`update ${accounts} set balance = 22 where id = 't2'`],
      [`delete from ${accounts} where id = 't1'`],
    );
    const to = await now();
    await as('carol', [`insert into ${accounts} values ('t4', 'cat', 4)`]);

    const { rows } = await pool.query(
      `select key, op, after ->> 'balance' as balance
         from "${schema}".audit
        where actor = $1 and changed_at >= $2::timestamptz and changed_at < $3::timestamptz
        order by id`,
      ['carol', from, to],
    );
    expect(rows).toEqual([
      { key: 't2', op: 'upsert', balance: '2' },
      { key: 't2', op: 'upsert', balance: '22' },
      { key: 't1', op: 'delete', balance: null },
    ]);
  });

  it('answers "what did this transaction do", across tables and SDK appends', async () => {
    await pool.query(`insert into ${accounts} values ('x2', 'xavier', 0)`);
    const client = await pool.connect();
    let xid: string;
    let sdkXid: string;
    try {
      await client.query('begin');
      await client.query(`set local walbox.actor = 'erin'`);
      await client.query(`insert into ${accounts} values ('x1', 'xena', 5)`);
      await client.query(`update ${accounts} set balance = 7 where id = 'x2'`);
      const mail = await walbox.append(client, {
        namespace: 'emails',
        key: 'welcome-x1',
        op: 'send',
        payload: { to: 'xena' },
      });
      sdkXid = mail.xid;
      xid = (await client.query('select pg_current_xact_id()::text as xid')).rows[0].xid;
      await client.query('commit');
    } finally {
      client.release();
    }
    expect(sdkXid).toBe(xid);
    await pool.query(`update ${accounts} set balance = 8 where id = 'x2'`); // another transaction

    const { rows } = await pool.query(
      `select namespace, key, op, actor
         from "${schema}".audit
        where transaction_id = $1::xid8
        order by id`,
      [xid],
    );
    expect(rows).toEqual([
      { namespace: 'accounts', key: 'x1', op: 'upsert', actor: 'erin' },
      { namespace: 'accounts', key: 'x2', op: 'upsert', actor: 'erin' },
      { namespace: 'emails', key: 'welcome-x1', op: 'send', actor: 'erin' },
    ]);
  });
});
