import type pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  type EntryInput,
  InvalidConfigError,
  InvalidEntryError,
  InvalidNameError,
  MAX_DELAY_MS,
  type NamespaceConfigInput,
  PayloadTooLargeError,
  UnknownNamespaceError,
  Walbox,
  WalboxError,
  type WalboxErrorCode,
} from '../src/index.js';
import { businessSchema } from './support/business-schema.js';
import { isolatedWalbox } from './support/db.js';
import { countEntries } from './support/entries.js';

const { pool, walbox, schema } = await isolatedWalbox('bad-input');
const biz = await businessSchema(pool, schema);

beforeAll(async () => {
  await pool.query(`create table "${biz}".notes (marker text not null)`);
  await walbox.namespaces.upsert({ name: 'users' });
  // maxPayloadBytes counts the whole entry: key 't' (1 byte) + op 'upsert' (6) + '"xxxxxxx"' (9) is 16.
  await walbox.namespaces.upsert({ name: 'tiny', maxPayloadBytes: 16 });
});

/** Untyped input, as a JavaScript caller or a deserialized request could pass it. */
const raw = (entry: Record<string, unknown>) => entry as unknown as EntryInput;
const good = (extra: Record<string, unknown> = {}) =>
  raw({ namespace: 'users', key: 'u1', op: 'upsert', payload: { ok: true }, ...extra });

let markers = 0;

/**
 * Runs `attempt` in an open transaction that already wrote a business row, expects it to fail with `code`,
 * then proves the transaction is still usable (another write, commit) and that the log did not change.
 */
async function rejectsInOpenTransaction(
  attempt: (client: pg.PoolClient) => Promise<unknown>,
  code: WalboxErrorCode,
  errorClass: new (...args: never[]) => WalboxError = WalboxError,
): Promise<WalboxError> {
  const marker = `m${++markers}`;
  const before = await countEntries(pool, schema);
  const client = await pool.connect();
  let error: unknown;
  try {
    await client.query('begin');
    await client.query(`insert into "${biz}".notes values ($1)`, [`${marker}-before`]);
    error = await attempt(client).then(
      () => undefined,
      (err: unknown) => err,
    );
    await client.query(`insert into "${biz}".notes values ($1)`, [`${marker}-after`]);
    await client.query('commit');
  } finally {
    await client.query('rollback').catch(() => {});
    client.release();
  }
  expect(error, 'the append should have been rejected').toBeInstanceOf(errorClass);
  expect((error as WalboxError).code).toBe(code);
  const { rows } = await pool.query(
    `select marker from "${biz}".notes where marker like $1 order by marker`,
    [`${marker}-%`],
  );
  expect(rows.map((r) => r.marker)).toEqual([`${marker}-after`, `${marker}-before`]);
  expect(await countEntries(pool, schema)).toBe(before);
  return error as WalboxError;
}

const appendRejects = (
  entry: EntryInput,
  code: WalboxErrorCode,
  errorClass?: new (...args: never[]) => WalboxError,
) => rejectsInOpenTransaction((client) => walbox.append(client, entry), code, errorClass);

const cycle: Record<string, unknown> = { name: 'loop' };
cycle.self = cycle;

describe('append rejects a bad entry with a typed error, appends nothing, and leaves the transaction usable', () => {
  it('unknown namespace: UNKNOWN_NAMESPACE', async () => {
    const err = await appendRejects(good({ namespace: 'nope' }), 'UNKNOWN_NAMESPACE', UnknownNamespaceError);
    expect((err as UnknownNamespaceError).namespace).toBe('nope');
    expect(err.message).toContain('"nope"');
  });

  it.each([
    ['omitted', { key: undefined }],
    ['empty', { key: '' }],
    ['null', { key: null }],
  ])('key %s: MISSING_KEY', async (_, bad) => {
    const err = await appendRejects(good(bad), 'MISSING_KEY', InvalidEntryError);
    expect((err as InvalidEntryError).field).toBe('key');
  });

  it.each([
    ['a number key', { key: 42 }, 'key'],
    ['a key over 1024 characters', { key: 'k'.repeat(1025) }, 'key'],
    ['no op', { op: undefined }, 'op'],
    ['an op over 64 characters', { op: 'o'.repeat(65) }, 'op'],
    ['headers that are an array', { headers: ['a'] }, 'headers'],
    ['an empty idempotencyKey', { idempotencyKey: '' }, 'idempotencyKey'],
    ['a numeric actor', { actor: 7 }, 'actor'],
  ])('%s: INVALID_ENTRY', async (_, bad, field) => {
    const err = await appendRejects(good(bad), 'INVALID_ENTRY', InvalidEntryError);
    expect((err as InvalidEntryError).field).toBe(field);
  });

  it.each([
    ['a BigInt', { payload: { amount: 10n } }, 'payload', '$.amount'],
    ['a cycle', { payload: cycle }, 'payload', '$.self'],
    ['a function', { payload: { f: () => 1 } }, 'payload', '$.f'],
    ['NaN', { payload: { ratio: Number.NaN } }, 'payload', '$.ratio'],
    ['Infinity', { payload: [1, Number.POSITIVE_INFINITY] }, 'payload', '$[1]'],
    ['a symbol', { payload: { s: Symbol('s') } }, 'payload', '$.s'],
    ['undefined in an array', { payload: [undefined] }, 'payload', '$[0]'],
    ['a Map', { payload: { m: new Map([['a', 1]]) } }, 'payload', '$.m'],
    ['a BigInt before-image', { before: { n: 1n } }, 'before', '$.n'],
    ['a function header', { headers: { trace: () => 'x' } }, 'headers', '$.trace'],
  ])('%s: PAYLOAD_NOT_SERIALIZABLE', async (_, bad, field, path) => {
    const err = await appendRejects(good(bad), 'PAYLOAD_NOT_SERIALIZABLE', InvalidEntryError);
    expect((err as InvalidEntryError).field).toBe(field);
    expect(err.message).toContain(path);
  });

  it('a payload over the default 1 MiB limit: PAYLOAD_TOO_LARGE', async () => {
    const err = await appendRejects(
      good({ payload: 'x'.repeat(1024 * 1024) }),
      'PAYLOAD_TOO_LARGE',
      PayloadTooLargeError,
    );
    // The whole entry: the payload's JSON (two quotes around it), key 'u1' and op 'upsert'.
    expect(err).toMatchObject({ limit: 1024 * 1024, bytes: 1024 * 1024 + 2 + 2 + 6, namespace: 'users' });
  });

  it("an entry over the namespace's maxPayloadBytes, counted in UTF-8 bytes: PAYLOAD_TOO_LARGE", async () => {
    const fits = await walbox.append(pool, {
      namespace: 'tiny',
      key: 't',
      op: 'upsert',
      payload: 'x'.repeat(7),
    });
    expect(fits.payload).toBe('x'.repeat(7));
    const err = await appendRejects(
      { namespace: 'tiny', key: 't', op: 'upsert', payload: 'x'.repeat(8) },
      'PAYLOAD_TOO_LARGE',
      PayloadTooLargeError,
    );
    expect(err).toMatchObject({ bytes: 17, limit: 16, namespace: 'tiny' });
    expect(err.message).toContain('16-byte limit');
    // 'é' is two bytes in UTF-8: three of them and an x fill the 16 bytes, four (17 bytes) are over.
    await walbox.append(pool, { namespace: 'tiny', key: 't', op: 'upsert', payload: 'éééx' });
    await appendRejects(
      { namespace: 'tiny', key: 't', op: 'upsert', payload: 'é'.repeat(4) },
      'PAYLOAD_TOO_LARGE',
      PayloadTooLargeError,
    );
  });

  it.each([
    ['negative', { delay: { ms: -1 } }, 'delay.ms'],
    ['not an integer', { delay: { ms: 1.5 } }, 'delay.ms'],
    ['a string', { delay: { ms: '1000' } }, 'delay.ms'],
    ['over one year', { delay: { ms: MAX_DELAY_MS + 1 } }, 'delay.ms'],
    ['with negative jitter', { delay: { ms: 0, jitterMs: -5 } }, 'delay.jitterMs'],
    ['plus jitter over one year', { delay: { ms: MAX_DELAY_MS, jitterMs: 1 } }, 'delay'],
    ['null', { delay: null }, 'delay'],
    ['given with deliverAt', { delay: { ms: 1000 }, deliverAt: new Date() }, 'delay'],
    [
      'deliverAt over one year ahead',
      { deliverAt: new Date(Date.now() + MAX_DELAY_MS + 60_000) },
      'deliverAt',
    ],
    ['deliverAt an invalid Date', { deliverAt: new Date('not a date') }, 'deliverAt'],
    ['deliverAt a string', { deliverAt: '2030-01-01T00:00:00Z' }, 'deliverAt'],
  ])('delay %s: DELAY_OUT_OF_RANGE', async (_, bad, field) => {
    const err = await appendRejects(good(bad), 'DELAY_OUT_OF_RANGE', InvalidEntryError);
    expect((err as InvalidEntryError).field).toBe(field);
  });

  it('accepts a delay of exactly one year (the limit itself)', async () => {
    const e = await walbox.append(pool, good({ delay: { ms: MAX_DELAY_MS } }));
    expect(e.deliverAt!.getTime()).toBeGreaterThan(Date.now() + MAX_DELAY_MS - 3_600_000);
  });

  it.each([
    ['upper case', 'Users'],
    ['a space', 'my users'],
    ['empty', ''],
    ['a leading digit', '1users'],
    ['a quote', 'users"; drop table x; --'],
    ['64 characters', `n${'x'.repeat(63)}`],
    ['not a string', 5],
  ])('namespace name with %s: INVALID_NAME', async (_, namespace) => {
    await appendRejects(good({ namespace }), 'INVALID_NAME', InvalidNameError);
  });

  it.each([
    ['upper case', ['Redis']],
    ['a non-string', ['cache', 5]],
    ['a string instead of an array', 'cache'],
    ['a space', ['my cache']],
  ])('target names with %s: INVALID_ENTRY', async (_, targets) => {
    const err = await appendRejects(good({ targets }), 'INVALID_ENTRY', InvalidEntryError);
    expect((err as InvalidEntryError).field).toBe('targets');
  });
});

describe('appendMany with one bad entry among good ones', () => {
  it.each([
    ['a missing key', 2, { key: '' }, 'MISSING_KEY'],
    ['an unserializable payload', 1, { payload: { n: 1n } }, 'PAYLOAD_NOT_SERIALIZABLE'],
    ['a negative delay', 0, { delay: { ms: -1 } }, 'DELAY_OUT_OF_RANGE'],
    ['a bad target', 3, { targets: ['Bad'] }, 'INVALID_ENTRY'],
    ['an oversize payload', 1, { namespace: 'tiny', payload: 'x'.repeat(100) }, 'PAYLOAD_TOO_LARGE'],
  ] as const)('%s at index %i rejects the whole batch', async (_, index, bad, code) => {
    const batch = [good({ key: 'a' }), good({ key: 'b' }), good({ key: 'c' }), good({ key: 'd' })];
    batch[index] = good({ key: 'x', ...bad });
    const err = await rejectsInOpenTransaction((client) => walbox.appendMany(client, batch), code);
    expect(err.message).toContain(`entries[${index}]`);
    expect(err).toMatchObject({ index });
  });

  it('an unknown namespace in the batch rejects the whole batch', async () => {
    const batch = [good({ key: 'a' }), good({ key: 'b', namespace: 'nope' }), good({ key: 'c' })];
    const err = await rejectsInOpenTransaction(
      (client) => walbox.appendMany(client, batch),
      'UNKNOWN_NAMESPACE',
      UnknownNamespaceError,
    );
    expect(err.message).toContain('"nope"');
  });
});

describe('invalid names and configs', () => {
  it.each(['Walbox', 'my-schema', '1schema', 'walbox"; drop schema public; --', `s${'x'.repeat(63)}`, ''])(
    'new Walbox({ schema: %j }) throws INVALID_NAME',
    (name) => {
      let error: unknown;
      try {
        new Walbox({ pool, schema: name });
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(InvalidNameError);
      expect(error).toMatchObject({ code: 'INVALID_NAME', kind: 'schema', value: name });
    },
  );

  it.each([
    [{ schema: 'ok' }, 'connectionString'],
    [{ schema: 'ok', pool, connectionString: 'postgres://localhost/x' }, 'connectionString'],
    [{ pool, namespaceCacheMs: -1 }, 'namespaceCacheMs'],
    [{ pool, schemaName: 'typo' }, 'schemaName'],
  ])('new Walbox(%#) throws INVALID_CONFIG naming the field', (config, field) => {
    let error: unknown;
    try {
      new Walbox(config as never);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(InvalidConfigError);
    expect(error).toMatchObject({ code: 'INVALID_CONFIG', field });
  });

  const retry = { limit: 3, initialDelayMs: 1000, maxDelayMs: 60_000 };
  it.each([
    [{ name: 'Bad Name' }, 'name'],
    [{ name: 'cfg', partitions: 0 }, 'partitions'],
    [{ name: 'cfg', partitions: 1025 }, 'partitions'],
    [{ name: 'cfg', partitions: 2.5 }, 'partitions'],
    [{ name: 'cfg', ordering: 'namespace', partitions: 4 }, 'partitions'],
    [{ name: 'cfg', ordering: 'global' }, 'ordering'],
    [{ name: 'cfg', retry: { ...retry, limit: -1 } }, 'retry.limit'],
    [{ name: 'cfg', retry: { ...retry, limit: 1001 } }, 'retry.limit'],
    [{ name: 'cfg', retry: { ...retry, initialDelayMs: 120_000 } }, 'retry.maxDelayMs'],
    [{ name: 'cfg', retry: { ...retry, multiplier: 0.5 } }, 'retry.multiplier'],
    [{ name: 'cfg', retry: { limit: 3 } }, 'retry.initialDelayMs'],
    [{ name: 'cfg', retry: { ...retry, jitter: true } }, 'retry.jitter'],
    [{ name: 'cfg', targets: ['Redis'] }, 'targets.0'],
    [{ name: 'cfg', targets: ['redis', 'redis'] }, 'targets'],
    [{ name: 'cfg', maxPayloadBytes: 0 }, 'maxPayloadBytes'],
    [{ name: 'cfg', onExhausted: 'drop' }, 'onExhausted'],
    [{ name: 'cfg', retentionHours: 0 }, 'retentionHours'],
    [{ name: 'cfg', partiton: 2 }, 'partiton'],
  ])('namespaces.upsert(%j) throws INVALID_CONFIG with field %j and stores nothing', async (input, field) => {
    const err = await walbox.namespaces.upsert(input as NamespaceConfigInput).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidConfigError);
    expect(err).toMatchObject({ code: 'INVALID_CONFIG', field });
    expect((err as Error).message).toContain(field);
    expect(await walbox.namespaces.get('cfg')).toBeUndefined();
  });

  it('a rejected upsert leaves the existing namespace as it was', async () => {
    await walbox.namespaces.upsert({ name: 'kept', partitions: 2 });
    await expect(walbox.namespaces.upsert({ name: 'kept', partitions: 0 })).rejects.toMatchObject({
      field: 'partitions',
    });
    const { rows } = await pool.query(`select partitions from "${schema}".namespaces where name = 'kept'`);
    expect(rows).toEqual([{ partitions: 2 }]);
  });
});

describe('typed namespaces', () => {
  const Order = z.object({ id: z.string(), total: z.number().int().nonnegative() });
  const orders = walbox.namespace('typed-orders', Order);

  beforeAll(async () => {
    await walbox.namespaces.upsert({ name: 'typed-orders' });
  });

  it('accepts a payload that matches the schema, and a delete without payload', async () => {
    const e = await orders.append(pool, { key: 'o1', op: 'upsert', payload: { id: 'o1', total: 5 } });
    expect(e).toMatchObject({ namespace: 'typed-orders', key: 'o1', payload: { id: 'o1', total: 5 } });
    const d = await orders.append(pool, { key: 'o1', op: 'delete', payload: null });
    expect(d).toMatchObject({ op: 'delete', payload: null });
  });

  it('rejects a well-typed payload that fails the schema at run time: PAYLOAD_SCHEMA_MISMATCH', async () => {
    const err = await rejectsInOpenTransaction(
      (client) => orders.append(client, { key: 'o2', op: 'upsert', payload: { id: 'o2', total: -1 } }),
      'PAYLOAD_SCHEMA_MISMATCH',
      InvalidEntryError,
    );
    expect((err as InvalidEntryError).field).toBe('payload.total');
    expect(err.message).toContain('typed-orders');
  });

  it('rejects a payload of the wrong type at compile time and at run time', async () => {
    await rejectsInOpenTransaction(
      (client) =>
        orders.append(client, {
          key: 'o3',
          op: 'upsert',
          // @ts-expect-error total must be a number
          payload: { id: 'o3', total: '5' },
        }),
      'PAYLOAD_SCHEMA_MISMATCH',
      InvalidEntryError,
    );
  });

  it('appendMany names the index of the mismatching payload', async () => {
    const err = await rejectsInOpenTransaction(
      (client) =>
        orders.appendMany(client, [
          { key: 'a', op: 'upsert', payload: { id: 'a', total: 1 } },
          { key: 'b', op: 'upsert', payload: { id: 'b', total: 1.5 } },
        ]),
      'PAYLOAD_SCHEMA_MISMATCH',
      InvalidEntryError,
    );
    expect(err.message).toContain('entries[1].payload.total');
  });
});

describe('the SQL backstop for callers that bypass the SDK', () => {
  async function sqlError(text: string, values: unknown[] = []) {
    const before = await countEntries(pool, schema);
    const err = await pool.query(text, values).then(
      () => undefined,
      (e: unknown) => e as { code?: string; message: string },
    );
    expect(await countEntries(pool, schema)).toBe(before);
    return err;
  }

  it('append() in SQL accepts a good entry', async () => {
    const { rows } = await pool.query(
      `select "${schema}".append('users', 'sql-1', 'upsert', '{"a":1}') as id`,
    );
    expect(rows[0].id).toMatch(/^\d+$/);
  });

  it('an unknown namespace raises WB001', async () => {
    const err = await sqlError(`select "${schema}".append('nope', 'k', 'upsert', '{}')`);
    expect(err).toMatchObject({ code: 'WB001' });
    expect(err!.message).toContain('unknown namespace "nope"');
  });

  it('an oversize payload raises WB002', async () => {
    const err = await sqlError(`select "${schema}".append('tiny', 'k', 'upsert', $1::jsonb)`, [
      JSON.stringify({ text: 'x'.repeat(100) }),
    ]);
    expect(err).toMatchObject({ code: 'WB002' });
  });

  it('an empty key raises WB003 and a negative delay WB004', async () => {
    expect(await sqlError(`select "${schema}".append('users', '', 'upsert', '{}')`)).toMatchObject({
      code: 'WB003',
    });
    expect(
      await sqlError(
        `select "${schema}".append('users', 'k', 'upsert', '{}', p_delay => interval '-1 second')`,
      ),
    ).toMatchObject({ code: 'WB004' });
  });

  it('a target the namespace lacks raises WB003', async () => {
    const err = await sqlError(
      `select "${schema}".append('users', 'k', 'upsert', '{}', p_targets => array['nowhere'])`,
    );
    expect(err).toMatchObject({ code: 'WB003' });
    expect(err!.message).toContain('target "nowhere" is not a target of namespace "users"');
  });

  // append() takes the single-entry path (append_one); append_json, the batch path, must agree with it.
  it.each([
    ['WB001', { namespace: 'nope', key: 'k', op: 'upsert' }],
    ['WB002', { namespace: 'tiny', key: 'k', op: 'upsert', payload: { text: 'x'.repeat(100) } }],
    ['WB003', { namespace: 'users', key: '', op: 'upsert' }],
    ['WB003', { namespace: 'users', key: 'k', op: '' }],
    ['WB003', { namespace: 'users', key: 'k', op: 'upsert', targets: ['nowhere'] }],
    ['WB004', { namespace: 'users', key: 'k', op: 'upsert', delay_ms: -1 }],
  ])('%s from append_one and from a batch of append_json alike: %j', async (code, bad) => {
    const good = { namespace: 'users', key: 'fine', op: 'upsert' };
    const one = await sqlError(`select * from "${schema}".append_one($1::json)`, [JSON.stringify(bad)]);
    const batch = await sqlError(`select * from "${schema}".append_json($1::json)`, [
      JSON.stringify([good, bad]),
    ]);
    expect(one).toMatchObject({ code });
    expect(batch).toMatchObject({ code, message: one!.message });
  });

  it('the SDK maps the backstop to typed errors when its cached namespace config is stale', async () => {
    const cached = new Walbox({ pool, schema, namespaceCacheMs: 3_600_000 });
    await cached.namespaces.upsert({ name: 'vanishing' });
    await cached.namespaces.upsert({ name: 'shrinking', maxPayloadBytes: 1000 });
    // Changed behind the cache's back, as another process would.
    await pool.query(`delete from "${schema}".namespaces where name = 'vanishing'`);
    await pool.query(`update "${schema}".namespaces set max_payload_bytes = 10 where name = 'shrinking'`);
    const before = await countEntries(pool, schema);

    const gone = await cached.append(pool, good({ namespace: 'vanishing' })).catch((e: unknown) => e);
    expect(gone).toBeInstanceOf(UnknownNamespaceError);
    expect(gone).toMatchObject({ code: 'UNKNOWN_NAMESPACE', namespace: 'vanishing' });

    const big = good({ namespace: 'shrinking', payload: { text: 'x'.repeat(50) } });
    await expect(cached.append(pool, big)).rejects.toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
    // The failure dropped the stale config: the next attempt is refused before reaching Postgres.
    const again = await cached.append(pool, big).catch((e: unknown) => e);
    expect(again).toBeInstanceOf(PayloadTooLargeError);
    expect(again).toMatchObject({ limit: 10 });
    expect(await countEntries(pool, schema)).toBe(before);
    await cached.close();
  });
});
