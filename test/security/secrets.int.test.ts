import { closeSync, openSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createMemcachedSink } from '../../packages/sink-memcached/src/index.js';
import { createNatsSink } from '../../packages/sink-nats/src/index.js';
import { createRabbitmqSink } from '../../packages/sink-rabbitmq/src/index.js';
import { createRedisSink, createRedisStreamSink } from '../../packages/sink-redis/src/index.js';
import { createLogger, type Entry, logDispatcher, Walbox } from '../../src/index.js';
import { amqpAnswers } from '../support/brokers.js';
import { databaseUrl, isolatedWalbox } from '../support/db.js';
import { freePort } from '../support/free-port.js';
import { serverAvailable } from '../support/required-servers.js';
import { redisUrl } from '../support/servers.js';
import { cli } from './cli-capture.js';

/** The password every connection string and sink URL here carries; no output may contain it. */
const PW = 'Pw-7f3kQz-secret';
const ENCODED = encodeURIComponent(`${PW}@/`);
const everything = (value: unknown) => inspect(value, { depth: Number.POSITIVE_INFINITY, showHidden: true });
/** `url` with PW as its password (the user kept). */
const withPassword = (url: string, password = PW) => {
  const u = new URL(url);
  u.password = password;
  if (!u.username) u.username = 'walbox';
  return u.toString();
};

const { walbox: shared, pool: owner, schema: sharedSchema } = await isolatedWalbox('secrets');
// A login role whose password is PW, so that a live connection carries it whatever the server's auth (trust
// on the machine's Postgres ignores passwords; the embedded one checks them).
const liveRole = `${sharedSchema}_login`;
await owner.query(`create role "${liveRole}" login superuser password '${PW}'`);
afterAll(() => owner.query(`drop role if exists "${liveRole}"`));
const liveUrl = (() => {
  const u = new URL(databaseUrl());
  u.username = liveRole;
  u.password = PW;
  return u.toString();
})();
const dir = await mkdtemp(join(tmpdir(), 'walbox-secrets-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

async function thrown(fn: () => Promise<unknown>): Promise<unknown> {
  try {
    await fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a failure');
}

describe('passwords never show', () => {
  it('util.inspect of a Walbox shows where it connects, not the password', async () => {
    const url = withPassword(databaseUrl());
    const w = new Walbox({ connectionString: url, schema: shared.schema });
    const pool = new pg.Pool({ connectionString: databaseUrl(), password: PW });
    pool.on('error', () => {});
    const w2 = new Walbox({ pool, schema: shared.schema });
    try {
      for (const shown of [
        inspect(w),
        inspect(w, { depth: 10 }),
        String(w),
        JSON.stringify(Object.keys(w)),
      ]) {
        expect(shown).not.toContain(PW);
      }
      expect(inspect(w)).toContain(shared.schema);
      expect(inspect(w)).toContain('***');
      expect(inspect(w2)).not.toContain(PW);
    } finally {
      await w.close();
      await w2.close();
      await pool.end();
    }
  });

  it('a connection that fails: the error, its causes and the status call carry no password', async () => {
    const port = await freePort();
    const dead = new Walbox({ connectionString: `postgres://postgres:${PW}@127.0.0.1:${port}/test` });
    const encoded = new Walbox({ connectionString: `postgres://postgres:${ENCODED}@127.0.0.1:${port}/test` });
    try {
      for (const err of [
        await thrown(() => dead.migrate()),
        await thrown(() => dead.status()),
        await thrown(() => encoded.status()),
      ]) {
        expect(everything(err)).not.toContain(PW);
        expect(String(err)).not.toContain(PW);
      }
      // A working connection whose URL has a password (trust auth ignores it): status shows none.
      const live = new Walbox({ connectionString: liveUrl, schema: shared.schema });
      try {
        expect(everything(await live.status())).not.toContain(PW);
      } finally {
        await live.close();
      }
    } finally {
      await dead.close();
      await encoded.close();
    }
  });

  it('the CLI prints no password, whether the database answers or not', async () => {
    const port = await freePort();
    const runs = [
      await cli(['status', '--database-url', `postgres://postgres:${PW}@127.0.0.1:${port}/test`]),
      await cli(['status', '--json', '--database-url', `postgres://postgres:${PW}@127.0.0.1:${port}/test`]),
      await cli(['status', '--database-url', liveUrl, '--schema', shared.schema]),
      await cli(['status', '--database-url', `postgres://postgres:${PW}@[::1`]),
    ];
    expect(runs.map((r) => r.code)).toEqual([1, 1, 0, 1]);
    for (const r of runs) expect(r.output).not.toContain(PW);
  });

  it('util.inspect of every sink with credentials shows no password', () => {
    const sinks = [
      createRedisSink({ url: `redis://bob:${PW}@127.0.0.1:6379` }),
      createRedisSink({ url: 'redis://127.0.0.1:6379', redisOptions: { password: PW } }),
      createRedisSink({ cluster: { nodes: [`redis://bob:${PW}@127.0.0.1:7000`] } }),
      createRedisStreamSink({ url: `redis://bob:${PW}@127.0.0.1:6379` }),
      createMemcachedSink({ servers: `bob:${PW}@127.0.0.1:11211,127.0.0.1:11212` }),
      createMemcachedSink({ servers: '127.0.0.1:11211', memjsOptions: { username: 'bob', password: PW } }),
      createRabbitmqSink({ url: `amqp://guest:${PW}@127.0.0.1:5672`, exchange: 'x' }),
      createNatsSink({ servers: `nats://bob:${PW}@127.0.0.1:4222`, subject: 'x' }),
      createNatsSink({ servers: 'nats://127.0.0.1:4222', connectionOptions: { token: PW }, subject: 'x' }),
    ];
    for (const sink of sinks) {
      expect(inspect(sink), sink.name).not.toContain(PW);
      expect(inspect(sink, { depth: 10 }), sink.name).not.toContain(PW);
      expect(inspect(sink), sink.name).toContain(sink.name);
    }
    return Promise.all(sinks.map((s) => s.close()));
  });

  it.runIf(serverAvailable('redis-server'))(
    'a Redis auth failure: the error and its cause carry no password, nor do dead letters or logs',
    async () => {
      const url = withPassword(await redisUrl());
      const sink = createRedisSink({ url, name: 'auth', connectTimeoutMs: 2000 });
      const err = await thrown(() =>
        sink.apply([{ id: '1', namespace: 'n', key: 'k', op: 'upsert', payload: 1 } as Entry], {}),
      );
      expect(everything(err)).not.toContain(PW);
      expect(everything(err)).toMatch(/WRONGPASS|AUTH|NOAUTH|unreachable/);

      // Through a dispatcher, with its logger writing to a file: the dead letter and the log lines.
      await shared.namespaces.upsert({
        name: 'auth',
        targets: ['auth'],
        retry: { limit: 0, initialDelayMs: 10, maxDelayMs: 10 },
      });
      const logFile = join(dir, 'dispatch.log');
      const fd = openSync(logFile, 'w');
      const d = shared.dispatcher({
        sinks: { auth: sink },
        pollIntervalMs: 50,
        superviseMs: 300,
        leaseMs: 5000,
      });
      const stopLogging = logDispatcher(d, createLogger({ level: 'debug', fd }));
      const errors: Error[] = [];
      d.on('error', (e) => errors.push(e));
      try {
        await d.start();
        await shared.append(shared.pool, { namespace: 'auth', key: 'k', op: 'upsert', payload: 1 });
        const deadline = Date.now() + 30_000;
        let rows: unknown[] = [];
        while (rows.length === 0 && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 100));
          ({ rows } = await shared.pool.query(
            `select * from "${shared.schema}".dead_letters where target = 'auth'`,
          ));
        }
        expect(rows).toHaveLength(1);
        expect(everything(rows)).not.toContain(PW);
      } finally {
        await d.stop();
        stopLogging();
        closeSync(fd);
      }
      expect(everything(errors)).not.toContain(PW);
      const log = await readFile(logFile, 'utf8');
      expect(log).toContain('dead-lettered');
      expect(log).not.toContain(PW);
    },
  );

  it('a RabbitMQ login refused: the error carries no password', async () => {
    if (!(await amqpAnswers(5672))) return; // the machine's RabbitMQ only: a node of our own takes 15 s
    const sink = createRabbitmqSink({ url: `amqp://guest:${PW}@127.0.0.1:5672`, exchange: 'walbox-secrets' });
    const err = await thrown(() =>
      sink.apply([{ id: '1', namespace: 'n', key: 'k', op: 'upsert', payload: 1 } as Entry], {
        namespace: 'n',
        partition: 0,
      }),
    );
    expect(everything(err)).not.toContain(PW);
    await sink.close();
  });
});
