// walbox behind a real PgBouncer in transaction pooling mode, where each transaction of a client may run on
// another server connection: migrations, producers and a dispatcher with wakeup 'poll' and no prepared
// statements work through it; what needs a session of its own (LISTEN, and prepared statements before
// PgBouncer 1.21) fails at dispatcher.start() with SessionRequiredError instead of misbehaving later.
import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeSession } from '../src/dispatch/session-probe.js';
import { type DispatcherOptions, functionSink, SessionRequiredError, Walbox } from '../src/index.js';
import { databaseUrl } from './support/db.js';
import { checkDeliveries, type EntryRef } from './support/delivery-check.js';
import { FAST, stopAfterEach } from './support/dispatchers.js';
import { type PgBouncer, pgBouncerAtLeast, startPgBouncer } from './support/pgbouncer.js';
import { Producers } from './support/producers.js';
import { until } from './support/recording-sink.js';
import { canStart } from './support/required-servers.js';

/** Every migration file, as migrate() reports them: ['0001_log', '0002_audit_capture', ...]. */
const ALL = readdirSync(new URL('../migrations/', import.meta.url))
  .filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f))
  .sort()
  .map((f) => f.slice(0, -4));

// Nothing starts at the top level: without pgbouncer every test is skipped, and so are the hooks.
describe.runIf(canStart('pgbouncer'))('behind PgBouncer in transaction pooling mode', () => {
  const schema = `t_${createHash('sha1').update(`pgbouncer:${process.pid}:${Date.now()}:${Math.random()}`).digest('hex').slice(0, 12)}`;
  let bouncer: PgBouncer;
  /** A direct connection, to look behind the pooler and to clean up. */
  let direct: pg.Pool;
  let pool: pg.Pool;
  let walbox: Walbox;
  const running = stopAfterEach();

  beforeAll(async () => {
    direct = new pg.Pool({ connectionString: databaseUrl(), max: 4 });
    bouncer = await startPgBouncer({ databaseUrl: databaseUrl(), poolMode: 'transaction' });
    pool = new pg.Pool({ connectionString: bouncer.url, max: 20 });
    walbox = new Walbox({ pool, schema });
  });
  afterAll(async () => {
    await pool?.end();
    await direct?.query(`drop schema if exists "${schema}" cascade`);
    await direct?.query(`drop schema if exists "${schema}_boss" cascade`);
    await direct?.end();
  });

  /** A dispatcher through the pooler with a sink that records what it applied, and the errors it reported. */
  function dispatcher(target: string, options: DispatcherOptions, box = walbox) {
    const applied: EntryRef[] = [];
    const errors: Error[] = [];
    const d = box.dispatcher({
      sinks: { [target]: functionSink(target, (batch) => void applied.push(...batch)) },
      ...FAST,
      ...options,
    });
    d.on('error', (err) => errors.push(err));
    running.push(d);
    return { d, applied, errors };
  }

  it('migrates from several migrators at once: each succeeds, each migration is applied once, no lock is left', async () => {
    const migrators = Array.from({ length: 4 }, () => new Walbox({ connectionString: bouncer.url, schema }));
    try {
      const results = await Promise.all(migrators.map((w) => w.migrate()));
      expect(results.flatMap((r) => r.applied).sort()).toEqual(ALL);
      expect(await migrators[0]!.migrate()).toMatchObject({ applied: [] });
    } finally {
      await Promise.all(migrators.map((w) => w.close()));
    }
    const { rows } = await direct.query(`select version from "${schema}".migrations order by version`);
    expect(rows.map((r) => r.version)).toEqual(ALL.map((m) => Number(m.slice(0, 4))));
    // A session lock would have stayed on whichever server connection took it, blocking every later migrator.
    const locks = await direct.query(
      `select pid from pg_locks where locktype = 'advisory'
          and classid = hashtext('walbox:migrate')::oid and objid = hashtext($1)::oid`,
      [schema],
    );
    expect(locks.rows).toEqual([]);
  });

  it("delivers every committed entry and nothing rolled back, in order per key, with wakeup: 'poll' and preparedStatements: false", async () => {
    await walbox.migrate();
    await walbox.namespaces.upsert({ name: 'bounced', targets: ['t'], partitions: 4 });
    const { d, applied, errors } = dispatcher('t', { wakeup: 'poll', preparedStatements: false });
    await d.start();
    // Concurrent producers in transactions through the pooler, every 4th transaction rolled back.
    const producers = new Producers(pool, walbox, {
      namespace: 'bounced',
      keys: Array.from({ length: 12 }, (_, i) => `k${i}`),
      producers: 6,
      txSize: 3,
      pauseMs: 5,
      rollbackEvery: 4,
    }).start();
    await producers.until(400);
    await producers.stop();

    const { rows: log } = await direct.query<EntryRef>(
      `select id::text, key from "${schema}".audit where namespace = $1 order by id`,
      ['bounced'],
    );
    expect(log.map((e) => e.id).sort()).toEqual([...producers.committed.keys()].sort());
    expect(producers.rolledBack.size).toBeGreaterThan(0);
    await until(() => checkDeliveries(log, applied).lost.length === 0, 30_000, 'every committed entry');
    const check = checkDeliveries(log, applied);
    expect(check).toMatchObject({ lost: [], unexpected: [], reorderedKeys: [] });
    expect(errors).toEqual([]);
  });

  it("refuses to start a dispatcher with wakeup: 'listen' (the default), also while producers keep the pool busy", async () => {
    await walbox.migrate();
    await walbox.namespaces.upsert({ name: 'listening', targets: ['l'], partitions: 1 });
    const producers = new Producers(pool, walbox, {
      namespace: 'listening',
      keys: ['a', 'b', 'c'],
      producers: 4,
      pauseMs: 0,
    });
    for (const busy of [false, true]) {
      if (busy) producers.start();
      for (let attempt = 0; attempt < 5; attempt++) {
        const { d, applied } = dispatcher('l', {});
        const err = await d.start().catch((e: unknown) => e);
        expect(err, `busy: ${busy}, attempt ${attempt}`).toBeInstanceOf(SessionRequiredError);
        expect(err).toMatchObject({ code: 'SESSION_REQUIRED', feature: 'listen' });
        expect((err as Error).message).toContain("wakeup: 'poll' and preparedStatements: false");
        expect((err as Error).message).toContain('direct connection');
        await d.stop();
        expect(applied).toEqual([]);
      }
    }
    await producers.stop();
  });

  // Named prepared statements stay on the server connection that prepared them: pg then runs them by name
  // on whichever one the next transaction gets ("prepared statement ... does not exist"). 1.21 added
  // max_prepared_statements, which re-prepares them there.
  it.runIf(canStart('pgbouncer') && !pgBouncerAtLeast('1.21'))(
    'refuses preparedStatements: true before PgBouncer 1.21',
    async () => {
      const { d } = dispatcher('p', { wakeup: 'poll', preparedStatements: true });
      await expect(d.start()).rejects.toMatchObject({
        code: 'SESSION_REQUIRED',
        feature: 'prepared-statements',
      });
    },
  );

  it.runIf(canStart('pgbouncer') && !pgBouncerAtLeast('1.21'))(
    "fails an append with new Walbox({ preparedStatements: true }) there with SessionRequiredError, and the default's works",
    async () => {
      await walbox.migrate();
      await walbox.namespaces.upsert({ name: 'prepared-append', targets: ['p'] });
      const preparing = new Walbox({ pool, schema, preparedStatements: true });
      const a = await pool.connect();
      const b = await pool.connect();
      try {
        // a prepares on the server connection it gets; b then holds that one in a transaction, so a's next
        // transaction runs on another server connection, which has never seen the statement.
        await preparing.append(a, { namespace: 'prepared-append', key: 'k', op: 'upsert' });
        await b.query('begin');
        await b.query('select 1');
        const failed = await preparing
          .append(a, { namespace: 'prepared-append', key: 'k', op: 'upsert' })
          .then(
            () => 'appended',
            (err: unknown) => err,
          );
        expect(failed).toBeInstanceOf(SessionRequiredError);
        expect(failed).toMatchObject({ feature: 'prepared-statements' });
        // The default: unnamed statements, on whichever server connection.
        await walbox.append(a, { namespace: 'prepared-append', key: 'k', op: 'upsert' });
        await b.query('commit');
      } finally {
        a.release();
        b.release();
      }
    },
  );

  it.runIf(canStart('pgbouncer') && pgBouncerAtLeast('1.21'))(
    'runs prepared statements from PgBouncer 1.21 with max_prepared_statements',
    async () => {
      await walbox.migrate();
      await walbox.namespaces.upsert({ name: 'prepared', targets: ['p'], partitions: 1 });
      const carrying = await startPgBouncer({
        databaseUrl: databaseUrl(),
        settings: { max_prepared_statements: 100 },
      });
      const carryingPool = new pg.Pool({ connectionString: carrying.url, max: 10 });
      try {
        const box = new Walbox({ pool: carryingPool, schema });
        const { d, applied, errors } = dispatcher('p', { wakeup: 'poll', preparedStatements: true }, box);
        await d.start();
        for (let i = 0; i < 20; i++)
          await walbox.append(pool, { namespace: 'prepared', key: `k${i % 3}`, op: 'upsert' });
        await until(() => applied.length === 20, 20_000, 'the entries');
        await d.stop();
        expect(errors).toEqual([]);
      } finally {
        await carryingPool.end();
        await carrying.stop();
      }
    },
  );

  it('tells sessions from transaction-pooled connections', async () => {
    const session = await startPgBouncer({ databaseUrl: databaseUrl(), poolMode: 'session' });
    try {
      const probe = (connectionString: string) =>
        probeSession({ connectionString }, { preparedStatements: true });
      expect(await probe(databaseUrl())).toEqual({ transactionPooled: false });
      expect(await probe(session.url)).toEqual({ transactionPooled: false });
      const pooled = await probe(bouncer.url);
      expect(pooled.transactionPooled).toBe(true);
      if (!pgBouncerAtLeast('1.21')) expect(pooled.preparedStatementsCarried).toBe(false);
    } finally {
      await session.stop();
    }
  });

  it("starts with wakeup: 'listen' behind session pooling, where LISTEN works", async () => {
    await walbox.migrate();
    await walbox.namespaces.upsert({ name: 'sessions', targets: ['s'], partitions: 1 });
    const session = await startPgBouncer({ databaseUrl: databaseUrl(), poolMode: 'session' });
    const sessionPool = new pg.Pool({ connectionString: session.url, max: 10 });
    try {
      // Slow supervision: the entry arrives through LISTEN, not through the safety net.
      const { d, applied, errors } = dispatcher(
        's',
        { superviseMs: 4000 },
        new Walbox({ pool: sessionPool, schema }),
      );
      await d.start();
      const started = Date.now();
      const entry = await walbox.append(pool, { namespace: 'sessions', key: 'k', op: 'upsert' });
      await until(() => applied.length === 1, 10_000, 'the entry');
      expect(Date.now() - started).toBeLessThan(2000);
      expect(applied[0]!.id).toBe(entry.id);
      await d.stop();
      expect(errors).toEqual([]);
    } finally {
      await sessionPool.end();
      await session.stop();
    }
  });
});
