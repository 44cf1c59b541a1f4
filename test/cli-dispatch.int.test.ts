// `walbox dispatch`: the real CLI as a child process, a config file naming @walbox/sink-redis, real Redis.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCli, spawnWalbox, walboxCli } from './support/built-cli.js';
import { databaseUrl, isolatedWalbox } from './support/db.js';
import { until } from './support/recording-sink.js';
import { serverAvailable } from './support/required-servers.js';
import { redisUrl } from './support/servers.js';

const { pool, walbox, schema } = await isolatedWalbox('cli-dispatch');
// A login role with a password the logs must never show (the machine's Postgres trusts any password, the
// embedded one checks it, so the role is real).
const SECRET = 'not-logged-pw';
const loginRole = `${schema}_login`;
await pool.query(`create role "${loginRole}" login superuser password '${SECRET}'`);
afterAll(() => pool.query(`drop role if exists "${loginRole}"`));
const secretUrl = (() => {
  const u = new URL(databaseUrl());
  u.username = loginRole;
  u.password = SECRET;
  return u.toString();
})();
let built: Awaited<ReturnType<typeof buildCli>>;
const env = () => ({ DATABASE_URL: databaseUrl(), WALBOX_SCHEMA: schema });
const FAST = { pollIntervalMs: 50, superviseMs: 500, leaseMs: 5000, idleReleaseMs: 500, stopTimeoutMs: 5000 };

beforeAll(async () => {
  built = await buildCli();
  await walbox.namespaces.upsert({ name: 'users', targets: ['cache'], partitions: 2 });
});
afterAll(async () => {
  await built?.remove();
});

/** Writes `content` as `name` in the user's project directory; returns its path. */
async function configFile(name: string, content: unknown): Promise<string> {
  const path = join(built.project, name);
  await writeFile(path, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  return path;
}

async function dispatchWith(name: string, content: unknown, flags: string[] = []) {
  const path = await configFile(name, content);
  return walboxCli(built.pkg, ['dispatch', '--config', path, ...flags], env(), built.project);
}

/** Asserts the run failed with exit status 2 and exactly one line on stderr, containing `text`. */
function expectOneLine(r: { code: number | null; stderr: string }, text: string) {
  expect(r.code).toBe(2);
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toContain(text);
}

describe('walbox dispatch: flags and config files', () => {
  const redis = { use: '@walbox/sink-redis', options: { url: 'redis://127.0.0.1:1' } };

  it('refuses bad flags with exit status 2 and the usage', async () => {
    const [port, level, missing] = await Promise.all([
      walboxCli(built.pkg, ['dispatch', '--metrics-port', 'abc'], env()),
      walboxCli(built.pkg, ['dispatch', '--log-level', 'loud'], env()),
      walboxCli(built.pkg, ['dispatch'], env(), built.pkg),
    ]);
    expect(port.code).toBe(2);
    expect(port.stderr).toContain(
      "option '--metrics-port <port>' argument 'abc' is invalid. expected a port",
    );
    expect(level.code).toBe(2);
    expect(level.stderr).toContain('Allowed choices are silent, fatal, error, warn, info, debug, trace');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('error: no config file: pass --config <file>');
  });

  it('names the file and the field of every config problem, in one line', async () => {
    const cases: Array<[string, unknown, string]> = [
      ['bad.json', '{ "sinks": ', 'invalid config '],
      [
        'typo.json',
        { sinks: { cache: redis }, dispatcher: { batchSzie: 5 } },
        'dispatcher.batchSzie: unknown option',
      ],
      [
        'range.json',
        { sinks: { cache: redis }, dispatcher: { batchSize: 0 } },
        'dispatcher.batchSize: Too small',
      ],
      ['nosinks.json', { sinks: {} }, 'sinks: name at least one sink'],
      ['target.json', { sinks: { Cache: redis } }, 'sinks.Cache'],
      ['use.json', { sinks: { cache: { options: {} } } }, 'sinks.cache.use: '],
      [
        'url.json',
        { sinks: { cache: { use: '@walbox/sink-redis', options: { url: 'http://x' } } } },
        'sinks.cache.options.url: must start with redis:// or rediss://',
      ],
      [
        'nopkg.json',
        { sinks: { cache: { use: '@walbox/sink-nope' } } },
        'sinks.cache.use: cannot find package "@walbox/sink-nope"',
      ],
      [
        'export.json',
        { sinks: { cache: { ...redis, export: 'createNothing' } } },
        'sinks.cache.export: "@walbox/sink-redis" exports no "createNothing"',
      ],
      ['level.json', { sinks: { cache: redis }, logLevel: 'loud' }, 'logLevel: '],
      ['config.yaml', 'sinks: {}', '(file): expected a .json, .mjs, .js or .ts file'],
      [
        'config.ts',
        'export default { sinks: {} } as const;',
        '(file): a .ts config needs a TypeScript loader',
      ],
    ];
    const runs = await Promise.all(cases.map(([name, content]) => dispatchWith(name, content)));
    runs.forEach((r, i) => {
      const [name, , text] = cases[i]!;
      expectOneLine(r, `error [INVALID_CONFIG]: invalid config ${join(built.project, name)}: `);
      expect(r.stderr).toContain(text);
    });
    expect(runs[0]!.stderr).toContain('(file): not valid JSON');
    const missing = await walboxCli(
      built.pkg,
      ['dispatch', '--config', 'nowhere.json'],
      env(),
      built.project,
    );
    expectOneLine(missing, 'error [INVALID_CONFIG]: invalid config nowhere.json: (file): no such file');
  });

  it('fails to start with exit status 1 when the schema was never migrated', async () => {
    const r = await dispatchWith('unmigrated.json', {
      schema: 'walbox_never_migrated',
      sinks: { cache: redis },
    });
    expect(r.code).toBe(1);
    expect(r.stderr.trimEnd().split('\n')).toEqual([
      'error [MIGRATION_FAILED]: schema "walbox_never_migrated" has no walbox tables: run `walbox migrate` first (or check --schema)',
    ]);
    expect(r.stdout).toContain('dispatcher could not start');
    // Nothing was created beside it (pg-boss's schema neither).
    const { rows } = await pool.query(
      "select count(*)::int as n from pg_namespace where nspname like 'walbox_never_migrated%'",
    );
    expect(rows[0].n).toBe(0);
  });
});

describe.runIf(serverAvailable('redis-server'))('walbox dispatch with @walbox/sink-redis', () => {
  let url: string;
  let redis: Redis;
  beforeAll(async () => {
    url = await redisUrl();
    redis = new Redis(url);
    redis.on('error', () => {});
  });
  afterAll(async () => {
    redis?.disconnect();
  });

  it('delivers from a JSON config, serves metrics, and exits 0 on SIGTERM after a graceful stop', async () => {
    const prefix = `${schema}:json:`;
    const path = await configFile('walbox.config.json', {
      sinks: { cache: { use: '@walbox/sink-redis', options: { url, keyPrefix: prefix } } },
      dispatcher: FAST,
      metricsPort: 0,
    });
    const proc = spawnWalbox(built.pkg, ['dispatch', '--config', path], env(), built.project);
    try {
      const [, metricsUrl] = await proc.waitFor(/"metrics":"(http:[^"]+)"/);
      const n = 25;
      await walbox.appendMany(
        pool,
        Array.from({ length: n }, (_, i) => ({
          namespace: 'users',
          key: `u${i}`,
          op: 'upsert',
          payload: { i },
        })),
      );
      await until(
        async () =>
          (await redis.exists(...Array.from({ length: n }, (_, i) => `${prefix}users:u${i}`))) === n,
        30_000,
        'delivery to Redis',
      );
      expect(JSON.parse((await redis.get(`${prefix}users:u7`))!)).toEqual({ i: 7 });
      await until(
        async () => deliveredCount(await (await fetch(metricsUrl!)).text()) === n,
        10_000,
        'the counter',
      );
      // The lag gauges come from status(), read at most every 5 s: the backlog shows as drained soon after.
      const pending = /^walbox_pending_entries\{namespace="users",target="cache"\} 0$/m;
      await until(async () => pending.test(await (await fetch(metricsUrl!)).text()), 15_000, 'pending 0');
      expect((await fetch(metricsUrl!.replace('/metrics', '/healthz'))).status).toBe(200);
    } finally {
      proc.kill('SIGTERM');
    }
    const end = await proc.exited;
    expect(end.code, end.stderr).toBe(0);
    expect(end.stderr).toBe('');
    const messages = end.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).msg);
    expect(messages).toEqual(
      expect.arrayContaining([
        'walbox dispatch running',
        'stopping: finishing in-flight batches',
        'walbox dispatch stopped',
      ]),
    );
    // The leases were released on the way out: no partition is held by the stopped process.
    const { rows } = await pool.query(
      `select count(*)::int as n from "${schema}".cursors where lease_owner is not null`,
    );
    expect(rows[0].n).toBe(0);
  });

  it('runs an .mjs config whose default export is a function, logging each batch at debug level', async () => {
    const prefix = `${schema}:mjs:`;
    const path = await configFile(
      'walbox.config.mjs',
      `export default async () => ({
        sinks: { cache: { use: '@walbox/sink-redis', options: { url: ${JSON.stringify(url)}, keyPrefix: ${JSON.stringify(prefix)} } } },
        dispatcher: ${JSON.stringify(FAST)},
        database: { connectionString: process.env.WALBOX_DISPATCH_DB_URL },
      });`,
    );
    const proc = spawnWalbox(
      built.pkg,
      ['dispatch', '--config', path, '--log-level', 'debug'],
      { ...env(), WALBOX_DISPATCH_DB_URL: secretUrl },
      built.project,
    );
    try {
      await proc.waitFor(/walbox dispatch running/);
      const [stored] = await walbox.appendMany(pool, [
        { namespace: 'users', key: 'mjs', op: 'upsert', payload: 1 },
      ]);
      await until(async () => (await redis.exists(`${prefix}users:mjs`)) === 1, 30_000, 'delivery to Redis');
      const [line] = await proc.waitFor(new RegExp(`\\{[^\\n]*"entryIds":\\["${stored!.id}"\\][^\\n]*\\}`));
      expect(JSON.parse(line)).toMatchObject({ namespace: 'users', target: 'cache', entryIds: [stored!.id] });
      expect(proc.output().stdout).not.toContain(SECRET);
      expect(proc.output().stdout).toContain(`"database":"postgres://${loginRole}:***@`);
    } finally {
      proc.kill('SIGINT');
    }
    const end = await proc.exited;
    expect(end.code, end.stderr).toBe(0);
  });
});

describe.runIf(serverAvailable('redis-server'))('walbox dispatch with a config module that connects', () => {
  it('still exits when a config module made a client at import time and then failed validation', async () => {
    const url = await redisUrl();
    const path = await configFile(
      'connects.mjs',
      `import { createRedisSink } from '@walbox/sink-redis';
      const cache = createRedisSink({ url: ${JSON.stringify(url)} });
      await cache.client.connect(); // made lazily: connect it now, as a config module might
      export default { sinks: { cache }, dispatcher: { batchSzie: 1 } };`,
    );
    const r = await walboxCli(built.pkg, ['dispatch', '--config', path], env(), built.project);
    expectOneLine(r, 'dispatcher.batchSzie: unknown option');
  });
});

function deliveredCount(metrics: string): number {
  const m = metrics.match(/^walbox_delivered_entries_total\{namespace="users",target="cache"\} (\d+)$/m);
  return m ? Number(m[1]) : 0;
}
