// One user mutation that spans three stores (a Postgres replica, Redis, RocksDB), appended while Redis is
// down: walbox.mutations reports it incomplete, the other stores apply their parts, and once Redis is back the
// mutation completes with every store holding the new state, without anyone acting. And a reader of the
// Postgres replica never sees half of a source transaction.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createPostgresSink } from '@walbox/sink-postgres';
import { createRedisSink } from '@walbox/sink-redis';
import { createRocksdbSink, type RocksdbSink } from '@walbox/sink-rocksdb';
import { Redis } from 'ioredis';
import type pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import type { MutationStatus, Sink, Walbox } from '../src/index.js';
import { isolatedWalbox } from './support/db.js';
import { FAST, stopAfterEach } from './support/dispatchers.js';
import { canStart } from './support/required-servers.js';
import { type RedisServer, startRedis } from './support/servers.js';

// It stops and restarts a redis-server of its own: skipped without the binary (global setup says why).
const redisFound = canStart('redis-server');
let pool: pg.Pool;
let walbox: Walbox;
let schema: string;
let redis: RedisServer;
let rocksDir: string;
if (redisFound) {
  ({ pool, walbox, schema } = await isolatedWalbox('multi-store'));
  redis = await startRedis();
  rocksDir = await mkdtemp(path.join(os.tmpdir(), 'walbox-multi-store-'));
  afterAll(async () => {
    await redis.stop();
    await rm(rocksDir, { recursive: true, force: true });
    await pool.query(`drop schema if exists "${schema}_replica" cascade`);
  });
}
const dispatchers = stopAfterEach();

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

describe.skipIf(!redisFound)('a mutation across three stores', () => {
  it('is incomplete while one store is down and complete, everywhere, once it is back', async () => {
    // Retries every second at most, never exhausted: Redis comes back within the test.
    const retry = { limit: 1000, initialDelayMs: 100, maxDelayMs: 1000 };
    await walbox.namespaces.upsert({
      name: 'users',
      targets: ['pg', 'redis', 'rocksdb'],
      partitions: 2,
      retry,
    });
    await walbox.namespaces.upsert({ name: 'emails', targets: ['pg', 'redis', 'rocksdb'], retry });
    const rocks: RocksdbSink = createRocksdbSink({ name: 'rocksdb', path: rocksDir });
    const sinks = {
      pg: createPostgresSink({ name: 'pg', pool, schema: `${schema}_replica` }) as Sink,
      redis: createRedisSink({ name: 'redis', url: redis.url, commandTimeoutMs: 500 }) as Sink,
      rocksdb: rocks as Sink,
    };
    const d = walbox.dispatcher({ sinks, ...FAST });
    d.on('error', () => {}); // Redis being down is reported; the test reads the outcome from the log
    dispatchers.push(d);
    await d.start();

    const before = await walbox.append(pool, {
      namespace: 'users',
      key: 'u1',
      op: 'upsert',
      payload: { v: 1 },
    });
    await until('the first value everywhere', async () =>
      (await walbox.mutations.status(before.xid)).complete ? true : undefined,
    );

    await redis.stop();
    const client = await pool.connect();
    let xid: string;
    try {
      await client.query('begin');
      const parts = await walbox.appendMany(client, [
        { namespace: 'users', key: 'u1', op: 'upsert', payload: { v: 2, email: 'ada@example.com' } },
        { namespace: 'users', key: 'u2', op: 'upsert', payload: { v: 1 } },
        { namespace: 'emails', key: 'ada@example.com', op: 'upsert', payload: { user: 'u1' } },
      ]);
      await client.query('commit');
      xid = parts[0]!.xid;
    } finally {
      client.release();
    }

    // The two stores that are up apply their parts; Redis's stay behind, so the mutation is incomplete.
    const partial: MutationStatus = await until('the parts of the stores that are up', async () => {
      const s = await walbox.mutations.status(xid);
      const others = s.parts.filter((p) => p.target !== 'redis');
      const redisParts = s.parts.filter((p) => p.target === 'redis');
      return others.every((p) => p.state === 'applied') && redisParts.some((p) => p.attempts > 0)
        ? s
        : undefined;
    });
    expect(partial.complete).toBe(false);
    expect(partial.parts).toHaveLength(9);
    expect(partial.parts.filter((p) => p.target === 'redis').every((p) => p.state !== 'applied')).toBe(true);

    await redis.start();
    const done = await until('the mutation to complete', async () => {
      const s = await walbox.mutations.status(xid);
      return s.complete ? s : undefined;
    });
    expect(done.counts.applied).toBe(9);

    const { rows } = await pool.query(
      `select key, payload from "${schema}_replica".users where not deleted order by key`,
    );
    expect(rows).toEqual([
      { key: 'u1', payload: { v: 2, email: 'ada@example.com' } },
      { key: 'u2', payload: { v: 1 } },
    ]);
    const r = new Redis(redis.url);
    r.on('error', () => {});
    try {
      expect(JSON.parse((await r.get('walbox:users:u1'))!)).toEqual({ v: 2, email: 'ada@example.com' });
      expect(JSON.parse((await r.get('walbox:emails:ada@example.com'))!)).toEqual({ user: 'u1' });
    } finally {
      r.disconnect();
    }
    expect(await rocks.read('users', 'u1')).toMatchObject({ value: { v: 2, email: 'ada@example.com' } });
    expect(await rocks.read('emails', 'ada@example.com')).toMatchObject({ value: { user: 'u1' } });
  });

  it('shows a reader of the Postgres replica whole source transactions only', async () => {
    await walbox.namespaces.upsert({ name: 'pairs', targets: ['pg'], partitions: 1 });
    const d = walbox.dispatcher({
      sinks: { pg: createPostgresSink({ name: 'pg', pool, schema: `${schema}_replica` }) as Sink },
      ...FAST,
      batchSize: 3, // small batches: without whole transactions, a pair would often be cut in two
    });
    dispatchers.push(d);
    await d.start();
    let writing = true;
    let halves = 0;
    let reads = 0;
    const reader = (async () => {
      while (writing) {
        const { rows } = await pool
          .query<{ key: string; n: number }>(
            `select key, (payload->>'n')::int as n from "${schema}_replica".pairs where key in ('a', 'b')`,
          )
          .catch(() => ({ rows: [] as { key: string; n: number }[] }));
        if (rows.length === 2 && rows[0]!.n !== rows[1]!.n) halves++;
        if (rows.length === 2) reads++;
      }
    })();
    for (let n = 1; n <= 300; n++) {
      const client = await pool.connect();
      try {
        await client.query('begin');
        await walbox.appendMany(client, [
          { namespace: 'pairs', key: 'a', op: 'upsert', payload: { n } },
          { namespace: 'pairs', key: 'b', op: 'upsert', payload: { n } },
        ]);
        await client.query('commit');
      } finally {
        client.release();
      }
    }
    await until('the last pair', async () => {
      const { rows } = await pool
        .query(`select 1 from "${schema}_replica".pairs where key = 'b' and payload->>'n' = '300'`)
        .catch(() => ({ rows: [] }));
      return rows.length > 0 ? true : undefined;
    });
    writing = false;
    await reader;
    expect(reads).toBeGreaterThan(10);
    expect(halves).toBe(0);
  });
});
