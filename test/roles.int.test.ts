import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatabaseUnavailableError, Walbox } from '../src/index.js';
import { businessSchema } from './support/business-schema.js';
import { databaseUrl, isolatedWalbox } from './support/db.js';
import { FAST } from './support/dispatchers.js';
import { RecordingSink } from './support/recording-sink.js';

// Each role connects as a login role granted only that role, and is tried at its boundaries.
const { pool, walbox, schema } = await isolatedWalbox('roles');
const biz = await businessSchema(pool, schema);
const PASSWORD = 'walbox-roles-test';
const roles = walbox.roles().names;
const logins = {
  producer: `${schema}_p`,
  dispatcher: `${schema}_d`,
  auditor: `${schema}_a`,
  nobody: `${schema}_n`,
};
const pools: pg.Pool[] = [];
const walboxes: Walbox[] = [];

function poolAs(user: string): pg.Pool {
  const url = new URL(databaseUrl());
  url.username = user;
  url.password = PASSWORD;
  const p = new pg.Pool({ connectionString: url.toString(), max: 4 });
  p.on('error', () => {});
  pools.push(p);
  return p;
}

function walboxAs(user: string): { walbox: Walbox; pool: pg.Pool } {
  const p = poolAs(user);
  const w = new Walbox({ pool: p, schema });
  walboxes.push(w);
  return { walbox: w, pool: p };
}

/** The SQLSTATE a statement fails with, or 'ok'. */
async function outcome(p: pg.Pool, sql: string, values: unknown[] = []): Promise<string> {
  try {
    await p.query(sql, values);
    return 'ok';
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  }
}

beforeAll(async () => {
  await walbox.namespaces.upsert({ name: 'orders', targets: ['t'] });
  await walbox.namespaces.upsert({ name: 'secrets', targets: ['t'] });
  await walbox.append(pool, { namespace: 'secrets', key: 's1', op: 'upsert', payload: { card: '4111' } });
  await walbox.createRoles();
  await walbox.createRoles(); // running it again is harmless
  await pool.query(`create table "${biz}".orders (id text primary key, total int not null)`);
  await walbox.captureTable(`${biz}.orders`, { namespace: 'orders', keyColumn: 'id' });
  for (const [kind, login] of Object.entries(logins)) {
    await pool.query(`create role "${login}" login password '${PASSWORD}'`);
    if (kind !== 'nobody') await pool.query(`grant "${roles[kind as keyof typeof roles]}" to "${login}"`);
  }
  // A service that writes its own table, captured by walbox: rights on that table only.
  await pool.query(`grant usage on schema "${biz}" to "${logins.producer}"`);
  await pool.query(`grant select, insert, update, delete on "${biz}".orders to "${logins.producer}"`);
  // PUBLIC's default: a role that may use the schema but was granted none of walbox's roles.
  await pool.query(`grant usage on schema "${schema}" to "${logins.nobody}"`);
});

afterAll(async () => {
  for (const w of walboxes) await w.close();
  for (const p of pools) await p.end();
  for (const login of Object.values(logins)) {
    await pool.query(`drop owned by "${login}" cascade`);
    await pool.query(`drop role if exists "${login}"`);
  }
  await pool.query(`drop schema if exists "${schema}_boss" cascade`);
  for (const role of Object.values(roles)) {
    await pool.query(`drop owned by "${role}" cascade`);
    await pool.query(`drop role if exists "${role}"`);
  }
});

describe('roles', () => {
  it('a producer appends through the SDK, SQL and capture triggers, and can do nothing else', async () => {
    const producer = walboxAs(logins.producer);
    const client = await producer.pool.connect();
    try {
      await client.query('begin');
      const entry = await producer.walbox.append(client, {
        namespace: 'orders',
        key: 'o1',
        op: 'upsert',
        payload: 1,
      });
      await producer.walbox.appendMany(client, [
        { namespace: 'orders', key: 'o2', op: 'upsert', payload: 2 },
        { namespace: 'orders', key: 'o3', op: 'upsert', payload: 3, idempotencyKey: 'once' },
      ]);
      await client.query(`select "${schema}".append('orders', 'o4', 'upsert', '4')`);
      await client.query(`insert into "${biz}".orders values ('o5', 5)`);
      await client.query('commit');
      expect(entry.id).toBeTruthy();
    } finally {
      client.release();
    }
    const { rows } = await pool.query(
      `select key from "${schema}".entries where namespace = 'orders' order by id`,
    );
    expect(rows.map((r) => r.key)).toEqual(['o1', 'o2', 'o3', 'o4', 'o5']);

    const p = producer.pool;
    expect(await outcome(p, `select payload from "${schema}".entries`)).toBe('42501');
    expect(await outcome(p, `select * from "${schema}".audit`)).toBe('42501');
    expect(await outcome(p, `select * from "${schema}".namespaces`)).toBe('42501');
    expect(await outcome(p, `select * from "${schema}".idempotency_keys`)).toBe('42501');
    // A raw entry with a forged xid, partition, targets and actor.
    expect(
      await outcome(
        p,
        `insert into "${schema}".entries (id, namespace, key, partition, op, payload, targets, xid, actor)
         values (999999, 'orders', 'x', 0, 'upsert', '1', '{t}', '1', 'someone-else')`,
      ),
    ).toBe('42501');
    expect(await outcome(p, `insert into "${schema}".idempotency_keys values ('secrets', 'stolen', 1)`)).toBe(
      '42501',
    );
    expect(await outcome(p, `delete from "${schema}".cursors`)).toBe('42501');
    expect(await outcome(p, `select "${schema}".record_step('{}')`)).toBe('42501');
    expect(await outcome(p, `select pg_notify('x', 'y')`)).toBe('ok'); // (Postgres lets anyone notify: see notification-router.ts)
  });

  it('a producer schedules, reschedules and cancels jobs in its own transaction, and cannot touch the jobs table', async () => {
    await walbox.jobs('roles').ensure(); // the queue's namespace, made by the schema's owner
    const producer = walboxAs(logins.producer);
    const queue = producer.walbox.jobs('roles');
    const later = new Date(Date.now() + 7_200_000);
    const client = await producer.pool.connect();
    let ids: string[];
    try {
      await client.query('begin');
      ids = (
        await queue.scheduleMany(client, [
          { payload: 'kept', delay: { ms: 3_600_000 } },
          { payload: 'moved', delay: { ms: 3_600_000 } },
          { payload: 'dropped', delay: { ms: 3_600_000 }, idempotencyKey: 'drop-me' },
        ])
      ).map((s) => s.id);
      expect(await queue.reschedule(client, ids[1]!, later)).toBe(true);
      expect(await queue.cancel(client, ids[2]!)).toBe(true);
      expect(await queue.cancel(client, ids[2]!)).toBe(false); // cancelled already
      await client.query('commit');
    } finally {
      client.release();
    }
    const owner = walbox.jobs('roles');
    const [kept, moved, dropped] = await Promise.all(ids.map((id) => owner.get(id)));
    expect(kept).toMatchObject({ state: 'scheduled', generation: 1, payload: 'kept' });
    expect(moved).toMatchObject({ state: 'scheduled', generation: 2, runAt: later });
    expect(dropped).toMatchObject({ state: 'cancelled', idempotencyKey: 'drop-me' });
    // Three schedules and one reschedule, appended by the producer's login.
    const { rows } = await pool.query(
      `select session_role from "${schema}".entries where namespace = 'jobs.roles' order by id`,
    );
    expect(rows.map((r) => r.session_role)).toEqual(Array(4).fill(logins.producer));

    const p = producer.pool;
    expect(await outcome(p, `select * from "${schema}".jobs`)).toBe('42501');
    expect(await outcome(p, `update "${schema}".jobs set state = 'cancelled' where id = $1`, [ids[0]])).toBe(
      '42501',
    );
    expect(await outcome(p, `insert into "${schema}".jobs (queue, run_at) values ('roles', now())`)).toBe(
      '42501',
    );
    expect(await outcome(p, `select nextval('"${schema}".jobs_id_seq')`)).toBe('42501');
    // A role granted none of walbox's roles cannot call the job functions either.
    const nobody = poolAs(logins.nobody);
    expect(await outcome(nobody, `select * from "${schema}".jobs_schedule('roles', '[{}]')`)).toBe('42501');
    expect(await outcome(nobody, `select "${schema}".jobs_cancel('roles', $1)`, [ids[0]])).toBe('42501');
    expect(await outcome(nobody, `select "${schema}".jobs_reschedule('roles', $1, now())`, [ids[0]])).toBe(
      '42501',
    );
    expect((await owner.get(ids[0]!))?.state).toBe('scheduled');
  });

  it('a role granted none of them cannot append, even with USAGE on the schema', async () => {
    const nobody = walboxAs(logins.nobody);
    expect(await outcome(nobody.pool, `select "${schema}".append('orders', 'n1', 'upsert', '1')`)).toBe(
      '42501',
    );
    expect(await outcome(nobody.pool, `select * from "${schema}".append_one('{}'::json)`)).toBe('42501');
    await expect(
      nobody.walbox.append(nobody.pool, { namespace: 'orders', key: 'n2', op: 'upsert' }),
    ).rejects.toThrow();
  });

  it('an auditor reads the audit view with its delivery column, and nothing else', async () => {
    const auditor = poolAs(logins.auditor);
    const { rows } = await auditor.query(
      `select key, delivery from "${schema}".audit where namespace = 'secrets'`,
    );
    expect(rows).toEqual([{ key: 's1', delivery: { t: 'pending' } }]);
    expect(await outcome(auditor, `select payload from "${schema}".entries`)).toBe('42501');
    expect(await outcome(auditor, `select * from "${schema}".cursors`)).toBe('42501');
    expect(await outcome(auditor, `select "${schema}".append('orders', 'a1', 'upsert', '1')`)).toBe('42501');
    expect(await outcome(auditor, `update "${schema}".dead_letters set status = 'dead'`)).toBe('42501');
  });

  it('a dispatcher delivers, and cannot write the log', async () => {
    const dispatcher = walboxAs(logins.dispatcher);
    const sink = new RecordingSink('t');
    const d = dispatcher.walbox.dispatcher({ sinks: { t: sink }, ...FAST });
    const errors: unknown[] = [];
    d.on('error', (err) => errors.push(err));
    await d.start();
    try {
      await walbox.append(pool, { namespace: 'orders', key: 'late', op: 'upsert', payload: 'late' });
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline && !sink.applied.some((e) => e.key === 'late')) await sleep(100);
      expect(sink.applied.map((e) => e.key)).toEqual(expect.arrayContaining(['o1', 'o5', 'late', 's1']));
      expect(errors).toEqual([]);
    } finally {
      await d.stop();
    }
    const p = dispatcher.pool;
    expect(await outcome(p, `update "${schema}".entries set payload = '1'`)).toBe('42501');
    expect(await outcome(p, `delete from "${schema}".jobs`)).toBe('42501');
    expect(await outcome(p, `delete from "${schema}".entries`)).toBe('42501');
    expect(await outcome(p, `insert into "${schema}".key_locks values (1)`)).toBe('42501');
  });

  it('a dispatcher started while its role has no connection left reports it, keeps trying, and starts once one frees', async () => {
    const LIMIT = 8; // above what a dispatcher needs: its pool (max 4) and its LISTEN connection
    await pool.query(`alter role "${logins.dispatcher}" connection limit ${LIMIT}`);
    const url = new URL(databaseUrl());
    url.username = logins.dispatcher;
    url.password = PASSWORD;
    const held: pg.Client[] = [];
    const dispatchers: Array<{ stop(): Promise<void> }> = [];
    try {
      for (let i = 0; i < LIMIT; i++) {
        const c = new pg.Client({ connectionString: url.toString() });
        c.on('error', () => {});
        await c.connect();
        held.push(c);
      }
      const exhausted = (err: unknown) =>
        err instanceof DatabaseUnavailableError && err.reason === 'connections-exhausted';
      // startTimeoutMs 0: one try, and the error says why.
      const once = walboxAs(logins.dispatcher).walbox.dispatcher({
        sinks: { t: new RecordingSink('t') },
        ...FAST,
        startTimeoutMs: 0,
      });
      dispatchers.push(once);
      const failed = await once.start().then(
        () => 'started',
        (err: unknown) => err,
      );
      expect(exhausted(failed)).toBe(true);
      // stop() ends a start that is still trying: it fails at once with the last error.
      const stopped = walboxAs(logins.dispatcher).walbox.dispatcher({
        sinks: { t: new RecordingSink('t') },
        ...FAST,
      });
      stopped.on('error', () => {});
      const stoppedStart = stopped.start().then(
        () => 'started',
        (err: unknown) => err,
      );
      await sleep(300);
      const t0 = Date.now();
      await stopped.stop();
      expect(exhausted(await stoppedStart)).toBe(true);
      expect(Date.now() - t0).toBeLessThan(5000);
      // The default: try again, report each failed attempt, start once connections are released.
      const sink = new RecordingSink('t');
      const d = walboxAs(logins.dispatcher).walbox.dispatcher({ sinks: { t: sink }, ...FAST });
      dispatchers.push(d);
      const errors: unknown[] = [];
      d.on('error', (err) => errors.push(err));
      let started = false;
      const starting = d.start().then(() => {
        started = true;
      });
      const startedAt = Date.now();
      const deadline = startedAt + 20_000;
      while (errors.length < 2 && Date.now() < deadline) await sleep(50);
      expect(errors.length).toBeGreaterThanOrEqual(2);
      await sleep(1500);
      expect(started).toBe(false);
      // One report per failed attempt (attempts come 250-500 ms apart), not every error of its parts.
      expect(errors.length).toBeLessThanOrEqual(Math.ceil((Date.now() - startedAt) / 250) + 1);
      await Promise.all(held.splice(0).map((c) => c.end()));
      await starting;
      expect(errors.every(exhausted)).toBe(true);
      await walbox.append(pool, { namespace: 'orders', key: 'after-exhaustion', op: 'upsert', payload: 1 });
      while (Date.now() < deadline + 10_000 && !sink.applied.some((e) => e.key === 'after-exhaustion')) {
        await sleep(100);
      }
      expect(sink.applied.map((e) => e.key)).toContain('after-exhaustion');
    } finally {
      await Promise.all(held.map((c) => c.end()));
      for (const d of dispatchers) await d.stop();
      await pool.query(`alter role "${logins.dispatcher}" connection limit -1`);
    }
  });

  it('a dispatcher runs a job that a producer scheduled', async () => {
    const producer = walboxAs(logins.producer);
    const dispatcher = walboxAs(logins.dispatcher);
    await walbox.jobs('roles-run').ensure();
    const id = await producer.walbox.jobs('roles-run').schedule(producer.pool, { payload: 'now' });
    const ran: unknown[] = [];
    const queue = dispatcher.walbox.jobs('roles-run');
    const d = dispatcher.walbox.dispatcher({
      sinks: { [queue.namespace]: queue.sink((job) => void ran.push(job.payload)) },
      ...FAST,
    });
    const errors: unknown[] = [];
    d.on('error', (err) => errors.push(err));
    await d.start();
    try {
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline && (await walbox.jobs('roles-run').get(id))?.state !== 'succeeded') {
        await sleep(100);
      }
    } finally {
      await d.stop();
    }
    expect(ran).toEqual(['now']);
    expect((await walbox.jobs('roles-run').get(id))?.state).toBe('succeeded');
    expect(errors).toEqual([]);
  });
});
