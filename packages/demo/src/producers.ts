import type pg from 'pg';
import type { Entry, Walbox } from 'walbox';

export interface ProducerResult {
  /** Entries that committed, in the order the demo appended them. */
  committed: Entry[];
  /** Ids taken by a transaction that rolled back: they must never be delivered. */
  rolledBack: string[];
}

type Say = (text?: string) => void;

/**
 * The producer side of the demo: business writes and appends in the same transactions, one rolled back,
 * one delayed, one idempotent duplicate, one from plain SQL. `settle` lets deliveries print between steps.
 */
export async function produce(
  walbox: Walbox,
  pool: pg.Pool,
  app: string,
  say: Say,
  settle: () => Promise<void>,
): Promise<ProducerResult> {
  const committed: Entry[] = [];
  const rolledBack: string[] = [];
  const q = `"${walbox.schema}"`;

  say('   A  begin; insert a user row; append users/alice; commit');
  const a = await tx(pool, async (c) => {
    await c.query(`set local walbox.actor = 'signup-service'`);
    await c.query(`insert into ${app}.users values ('alice', 'Alice', 'free')`);
    return walbox.append(c, { namespace: 'users', key: 'alice', op: 'upsert', payload: user('alice') });
  });
  committed.push(a);
  say(`      → entry #${a.id} committed together with the row (actor set by \`set local walbox.actor\`)`);
  await settle();

  say('   B  begin; insert a user row; append users/bob; rollback');
  const client = await pool.connect();
  try {
    await client.query('begin');
    await client.query(`insert into ${app}.users values ('bob', 'Bob', 'free')`);
    const b = await walbox.append(client, {
      namespace: 'users',
      key: 'bob',
      op: 'upsert',
      payload: { name: 'Bob' },
    });
    await client.query('rollback');
    rolledBack.push(b.id);
    say(`      → rolled back: entry #${b.id} vanished with the row, and is never delivered`);
  } finally {
    client.release();
  }
  await settle();

  say('   C  one transaction, two entries (appendMany): alice upgrades to pro, carol signs up');
  const c = await tx(pool, async (cl) => {
    await cl.query(`update ${app}.users set plan = 'pro' where id = 'alice'`);
    await cl.query(`insert into ${app}.users values ('carol', 'Carol', 'free')`);
    return walbox.appendMany(cl, [
      { namespace: 'users', key: 'alice', op: 'upsert', payload: { ...user('alice'), plan: 'pro' } },
      { namespace: 'users', key: 'carol', op: 'upsert', payload: user('carol') },
    ]);
  });
  committed.push(...c);
  say(`      → entries ${c.map((e) => `#${e.id}`).join(', ')}, atomic with both rows`);
  await settle();

  say('   D  users/dave, delayed by 2 s');
  const d = await walbox.append(pool, {
    namespace: 'users',
    key: 'dave',
    op: 'upsert',
    payload: user('dave'),
    delay: { ms: 2000 },
  });
  committed.push(d);
  say(`      → entry #${d.id}, due at ${d.deliverAt?.toISOString()}`);
  await settle();

  say('   E  users/erin with idempotency key "signup-erin", appended twice (a retried request)');
  const e1 = await walbox.append(pool, erin());
  const e2 = await walbox.append(pool, erin());
  committed.push(e1);
  say(
    `      → first append: entry #${e1.id}; second append: ${e2.id === e1.id ? `entry #${e2.id} again, nothing new appended` : `UNEXPECTED new entry #${e2.id}`}`,
  );
  await settle();

  say(`   F  from plain SQL: select ${q}.append('users', 'alice', 'delete', null)`);
  const { rows } = await pool.query<{ id: string }>(
    `select ${q}.append('users', 'alice', 'delete', null) as id`,
  );
  const f = rows[0]!.id;
  committed.push({ ...a, id: f, op: 'delete', payload: null });
  say(`      → entry #${f}: alice deleted`);
  return { committed, rolledBack };
}

function user(id: string) {
  return { name: id[0]!.toUpperCase() + id.slice(1), plan: 'free' };
}

function erin() {
  return {
    namespace: 'users',
    key: 'erin',
    op: 'upsert',
    payload: user('erin'),
    idempotencyKey: 'signup-erin',
    actor: 'signup-service',
  };
}

async function tx<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('begin');
    const result = await fn(client);
    await client.query('commit');
    return result;
  } catch (err) {
    await client.query('rollback').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}
