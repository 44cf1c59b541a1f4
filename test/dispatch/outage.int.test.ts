// A downstream that goes away for 30 s and comes back: a real redis-server is SIGKILLed while producers keep
// appending, and started again on the same port. The dispatcher process (never restarted) backs off, retries,
// and delivers everything appended meanwhile in order, with no operator action.
//
// The redis-server runs without persistence (as a cache often does), so it comes back empty: whatever it had
// applied before the outage is gone with it. That loss is Redis's, not the log's: the test pins down exactly
// which keys the log restores by itself (every key written since the outage began, never a stale value), and
// that a replay of the log (an operator's rebuild) restores the rest.
import { Redis } from 'ioredis';
import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import type { Walbox } from '../../src/index.js';
import { childDispatchers } from '../support/child-dispatcher.js';
import { databaseUrl, isolatedWalbox } from '../support/db.js';
import { lastByKey, type Produced, Producers } from '../support/producers.js';
import { until } from '../support/recording-sink.js';
import { orderViolations, readBatches, readDeliveries, replicaSchema } from '../support/replica.js';
import { canStart } from '../support/required-servers.js';
import { type RedisServer, startRedis } from '../support/servers.js';

// It kills and restarts a redis-server of its own: without the binary the test is skipped (global setup prints
// why) and nothing is set up, as a file whose tests are all skipped runs no afterAll (which drops the schema).
const redisFound = canStart('redis-server');
let pool: pg.Pool;
let walbox: Walbox;
let schema: string;
let replica: string;
let redis: RedisServer;
if (redisFound) {
  ({ pool, walbox, schema } = await isolatedWalbox('outage'));
  replica = await replicaSchema(pool, schema);
  redis = await startRedis();
}
const children = childDispatchers(() => ({
  databaseUrl: databaseUrl(),
  schema,
  replicaSchema: replica,
  sink: 'redis',
  target: 'redis',
  redisUrl: redis.url,
  dispatcher: { leaseMs: 10_000, superviseMs: 2000, batchSize: 100 },
}));

const OUTAGE_MS = 30_000;
const NS = 'outage';
const KEYS = Array.from({ length: 200 }, (_, i) => `k${i}`);

/** Waits until every id in `ids` was applied by the sink (its deliveries log is written after Redis answered). */
async function allDelivered(ids: readonly string[], what: string, timeoutMs = 60_000) {
  await until(
    async () => {
      const { rows } = await pool.query<{ n: number }>(
        `select count(distinct entry_id)::int as n from "${replica}".deliveries where entry_id = any($1::bigint[])`,
        [ids],
      );
      return rows[0]!.n === ids.length;
    },
    timeoutMs,
    what,
  );
}

/**
 * What Redis holds for each key: the value the sink SET, parsed (null if none; jsonb does not keep the order
 * of object keys), and the version it recorded.
 */
async function redisState(keys: readonly string[]) {
  const client = new Redis(redis.url, { lazyConnect: true });
  try {
    await client.connect();
    const names = keys.flatMap((k) => [`walbox:${NS}:${k}`, `walbox:${NS}:${k}#version`]);
    const values = await client.mget(...names);
    return new Map(
      keys.map((k, i) => {
        const value = values[2 * i];
        return [k, { value: value ? JSON.parse(value) : null, version: values[2 * i + 1] ?? null }];
      }),
    );
  } finally {
    client.disconnect();
  }
}

const ABSENT = { value: null, version: null };
/** Redis's state after the sink applied `e` last: its value (none after a delete) and its id as version. */
function applied(e: Produced | undefined) {
  return e ? { value: e.op === 'delete' ? null : e.payload, version: e.id } : ABSENT;
}
/** Redis's state after the sink applied the last entry of each key (random keys may miss a few). */
function expected(last: Map<string, Produced>) {
  return new Map(KEYS.map((k) => [k, applied(last.get(k))]));
}

describe.runIf(redisFound)('a downstream outage', () => {
  it('Redis down for 30 s, then back empty: delivery resumes by itself, in order, nothing appended lost', async () => {
    // A retry policy for outages: quick first retries, capped at 5 s, and a budget (limit) far beyond 30 s of
    // failures, so no entry is dead-lettered while the store is away.
    await walbox.namespaces.upsert({
      name: NS,
      targets: ['redis'],
      partitions: 8,
      retry: { limit: 50, initialDelayMs: 500, maxDelayMs: 5000 },
    });
    const child = await children.start();

    // Before: every key written and delivered.
    const before = new Producers(pool, walbox, { namespace: NS, keys: KEYS, pauseMs: 100 }).start();
    await before.until(1500);
    await before.stop();
    await allDelivered([...before.committed.keys()], 'the entries before the outage');
    expect(await redisState(KEYS)).toEqual(expected(before.lastByKey()));

    // During: the first 150 keys only, so that the last 50 keep values Redis had only before the outage.
    const during = new Producers(pool, walbox, {
      namespace: NS,
      keys: KEYS.slice(0, 150),
      pauseMs: 100,
    }).start();
    try {
      await during.until(500);
      const down = Date.now();
      redis.kill('SIGKILL');
      await until(() => !redis.running, 10_000, 'redis-server to die');

      // The dispatcher notices: whole batches fail and its cursors back off (nothing is dead-lettered).
      await until(
        async () => {
          const { rows } = await pool.query<{ n: number }>(
            `select coalesce(max(failures), 0)::int as n from "${schema}".cursors where namespace = $1`,
            [NS],
          );
          return rows[0]!.n >= 2;
        },
        OUTAGE_MS - 5000,
        'failed batches to back off',
      );
      await new Promise((r) => setTimeout(r, down + OUTAGE_MS - Date.now()));
      const appendedDuring = during.committed.size;
      await redis.start(); // same port, empty
      const up = Date.now();
      const inOutage = [...during.committed.values()].filter((e) => e.begunAt > down).map((e) => e.id);
      expect(inOutage.length).toBeGreaterThan(500);

      // After: appends go on for a while; everything arrives without anyone touching the dispatcher.
      await during.until(appendedDuring + 1000);
      await during.stop();
      await allDelivered(inOutage, 'the entries appended during the outage');
      const caughtUp = Date.now() - up;
      await allDelivered([...during.committed.keys()], 'every entry appended during and after the outage');
      const batches = await readBatches(pool, replica);
      const failedBatches = batches.filter((b) => b.error !== null);
      const firstGood = Math.min(
        ...batches.filter((b) => !b.error && b.startedAt.getTime() > up).map((b) => b.startedAt.getTime()),
      );
      console.log(
        `outage: ${inOutage.length} entries appended while Redis was down, ${failedBatches.length} failed ` +
          `batches; first good batch ${firstGood - up} ms after Redis came back, caught up after ${caughtUp} ms`,
      );
      expect(failedBatches.length).toBeGreaterThan(0);
      expect(failedBatches.every((b) => b.startedAt.getTime() > down - 1000)).toBe(true);

      // The same process did it all: no restart, no other dispatcher.
      expect(child.alive).toBe(true);
      expect(new Set(batches.map((b) => b.pid))).toEqual(new Set([child.pid]));
      const { rows: dead } = await pool.query(`select entry_id from "${schema}".dead_letters`);
      expect(dead).toEqual([]);
      const deliveries = await readDeliveries(pool, replica);
      expect(orderViolations(deliveries)).toEqual([]);
      const committed = new Map([...before.committed, ...during.committed]);
      expect(new Set(deliveries.map((d) => d.entryId))).toEqual(new Set(committed.keys()));

      // Redis: every key written since the outage began holds its last value; a key not written since holds
      // its last value if its entries happened to be re-delivered after the restart, else nothing; no key holds
      // a stale value. The last 50 keys were last written (and delivered) before the outage: lost with it.
      const last = lastByKey(committed.values());
      const state = await redisState(KEYS);
      for (const key of KEYS) {
        const e = last.get(key);
        const touchedSinceDown = [...during.committed.values()].some(
          (x) => x.key === key && x.begunAt > down,
        );
        if (touchedSinceDown) expect(state.get(key), key).toEqual(applied(e));
        else expect([applied(e), ABSENT], key).toContainEqual(state.get(key));
      }
      for (const key of KEYS.slice(150)) expect(state.get(key), key).toEqual(ABSENT);

      // The operator's rebuild for what Redis itself forgot: replay the log; the version guard keeps the newer
      // values Redis has, the rest is filled in.
      const from = [...committed.keys()].reduce((a, b) => (BigInt(a) < BigInt(b) ? a : b));
      expect(await walbox.replay({ namespace: NS, target: 'redis', from })).toBe(committed.size);
      await until(
        async () => {
          const { rows } = await pool.query(`select 1 from "${schema}".parked where namespace = $1 limit 1`, [
            NS,
          ]);
          return rows.length === 0;
        },
        60_000,
        'the replay to be delivered',
      );
      expect(await redisState(KEYS)).toEqual(expected(last));
      expect(child.alive).toBe(true);
    } finally {
      await during.stop().catch(() => {});
    }
  }, 240_000);
});
