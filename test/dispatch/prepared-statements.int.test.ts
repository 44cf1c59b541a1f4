// The dispatcher runs its hot statements as prepared statements, planned once per connection. A migration
// that adds a column to the log while dispatchers run must not break them: Postgres refuses to run a cached
// plan whose result type changed ("cached plan must not change result type"), so they name their columns.
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { Walbox } from '../../src/index.js';
import { databaseUrl, isolatedWalbox } from '../support/db.js';
import { FAST, stopAfterEach } from '../support/dispatchers.js';
import { RecordingSink, until } from '../support/recording-sink.js';

const { pool, walbox, schema } = await isolatedWalbox('prepared-statements');
const running = stopAfterEach();

describe('a column added to the log while a dispatcher runs', () => {
  it('changes nothing for the dispatcher', async () => {
    await walbox.namespaces.upsert({ name: 'grow', targets: ['t'], partitions: 1 });
    const sink = new RecordingSink('t');
    const errors: Error[] = [];
    // One connection: every statement runs on the connection that prepared it before the change.
    const d = walbox.dispatcher({ sinks: { t: sink }, ...FAST, idleReleaseMs: 60_000, concurrency: 1 });
    d.on('error', (err) => errors.push(err));
    running.push(d);
    await d.start();
    // Enough steps, parked entries included, for every prepared statement to be planned and cached.
    for (let i = 0; i < 8; i++) {
      await walbox.append(pool, { namespace: 'grow', key: `k${i}`, op: 'upsert', payload: { i } });
      await walbox.append(pool, { namespace: 'grow', key: `k${i}`, op: 'upsert', delay: { ms: 50 } });
      await until(() => sink.applied.length === 2 * (i + 1), 10_000, `entry pair ${i}`);
    }

    await pool.query(`alter table "${schema}".entries add column region text`);
    await walbox.append(pool, { namespace: 'grow', key: 'after', op: 'upsert', payload: { late: true } });
    await walbox.append(pool, { namespace: 'grow', key: 'after', op: 'upsert', delay: { ms: 50 } });
    await until(() => sink.applied.length === 18, 10_000, 'the entries appended after the change');
    expect(errors).toEqual([]);
    expect(sink.applied.at(-2)).toMatchObject({ key: 'after', payload: { late: true } });
  });
});

/** A real pool that notes the names of the prepared statements it is asked to run. */
class NotingPool extends pg.Pool {
  readonly prepared = new Set<string>();
  // biome-ignore lint/suspicious/noExplicitAny: pg's overloads
  override query(...args: any[]): any {
    const [first] = args;
    if (typeof first === 'object' && first !== null && typeof first.name === 'string')
      this.prepared.add(first.name);
    // biome-ignore lint/suspicious/noExplicitAny: pg's overloads
    return (super.query as any)(...args);
  }
}

describe('preparedStatements', () => {
  it('prepares the drain statements by default, and none when off (PgBouncer before 1.21)', async () => {
    await walbox.namespaces.upsert({ name: 'prep', targets: ['t'], partitions: 1 });
    for (const preparedStatements of [true, false]) {
      const noting = new NotingPool({ connectionString: databaseUrl(), max: 4 });
      const box = new Walbox({ pool: noting, schema });
      const sink = new RecordingSink('t');
      const d = box.dispatcher({ sinks: { t: sink }, ...FAST, preparedStatements });
      try {
        await d.start();
        await walbox.append(pool, { namespace: 'prep', key: `k-${preparedStatements}`, op: 'upsert' });
        await until(() => sink.applied.length === 1, 10_000, 'the entry');
      } finally {
        await d.stop();
        await noting.end();
      }
      if (preparedStatements) expect(noting.prepared.size).toBeGreaterThanOrEqual(2);
      else expect([...noting.prepared]).toEqual([]);
    }
  });
});
