// Input Postgres would choke on, and limits that protect the server (issue 7): each is refused with a typed
// error before anything is sent, and the caller's transaction stays usable. The SQL path refuses the same.
import { beforeAll, describe, expect, it } from 'vitest';
import type { EntryInput } from '../src/index.js';
import { inOpenTransaction, notesTable, rejectsTyped } from './fuzz/open-transaction.js';
import { businessSchema } from './support/business-schema.js';
import { isolatedWalbox } from './support/db.js';

const { pool, walbox, schema } = await isolatedWalbox('hostile-input');
const biz = await businessSchema(pool, schema);

beforeAll(async () => {
  await notesTable(pool, biz);
  await walbox.namespaces.upsert({ name: 'users' });
  await walbox.namespaces.upsert({ name: 'small', maxPayloadBytes: 1024 });
});

const raw = (entry: Record<string, unknown>) => entry as unknown as EntryInput;
const good = (extra: Record<string, unknown> = {}) =>
  raw({ namespace: 'users', key: 'u1', op: 'upsert', payload: { ok: true }, ...extra });
const refuses = (entry: EntryInput, code: string, field?: string) =>
  rejectsTyped(pool, schema, biz, (client) => walbox.append(client, entry), code, field);
const nested = (depth: number, leaf: unknown = 1) => {
  let v = leaf;
  for (let i = 0; i < depth; i++) v = i % 2 ? { a: v } : [v];
  return v;
};
const DAY = 86_400_000;

describe('text Postgres cannot store: a typed INVALID_ENTRY naming the field, before anything is sent', () => {
  it.each([
    ['payload value', { payload: { a: 'x\u0000y' } }, 'payload'],
    ['payload property name', { payload: { 'a\u0000': 1 } }, 'payload'],
    ['before', { before: ['\u0000'] }, 'before'],
    ['headers', { headers: { trace: '\u0000' } }, 'headers'],
    ['key', { key: 'k\u0000' }, 'key'],
    ['op', { op: 'up\u0000sert' }, 'op'],
    ['actor', { actor: 'alice\u0000' }, 'actor'],
    ['idempotencyKey', { idempotencyKey: '\u0000' }, 'idempotencyKey'],
  ])('\\u0000 in the %s', async (_, bad, field) => {
    const err = await refuses(good(bad), 'INVALID_ENTRY', field);
    expect(err.message).toContain('\\u0000');
  });

  it.each([
    ['payload (high)', { payload: { a: 'x\ud800' } }, 'payload'],
    ['payload (low)', { payload: ['\udc00y'] }, 'payload'],
    ['before', { before: '\ud83d' }, 'before'],
    ['headers', { headers: { t: '\ude00' } }, 'headers'],
    ['key', { key: 'k\ud800' }, 'key'],
    ['op', { op: '\udfff' }, 'op'],
    ['actor', { actor: 'a\ud800b' }, 'actor'],
    ['idempotencyKey', { idempotencyKey: '\udbff' }, 'idempotencyKey'],
  ])('a lone surrogate in the %s', async (_, bad, field) => {
    const err = await refuses(good(bad), 'INVALID_ENTRY', field);
    expect(err.message).toContain('surrogate');
  });

  it('a surrogate pair (an emoji) is stored and read back as sent', async () => {
    const e = await walbox.append(pool, good({ key: 'k😀', payload: { s: '😀\\ud800' }, actor: '😀' }));
    const { rows } = await pool.query(`select key, payload, actor from "${schema}".entries where id = $1`, [
      e.id,
    ]);
    expect(rows[0]).toEqual({ key: 'k😀', payload: { s: '😀\\ud800' }, actor: '😀' });
  });
});

describe('keys and idempotency keys are limited in UTF-8 bytes (512), below the index row limit', () => {
  it.each([
    ['key', 'é'.repeat(1024)],
    ['key', '€'.repeat(171)],
    ['key', 'k'.repeat(513)],
    ['idempotencyKey', 'é'.repeat(1024)],
    ['idempotencyKey', 'i'.repeat(513)],
  ])('%s of %#', async (field, value) => {
    const err = await refuses(good({ [field]: value }), 'INVALID_ENTRY', field);
    expect(err.message).toContain('512');
  });

  it('accepts 512 bytes: 512 ASCII characters, or 170 three-byte ones', async () => {
    for (const value of ['k'.repeat(512), '€'.repeat(170)]) {
      const e = await walbox.append(pool, good({ key: value, idempotencyKey: value }));
      expect(e).toMatchObject({ key: value, idempotencyKey: value, duplicate: false });
    }
  });
});

describe('deliverAt within a year either side, JSON nesting at most 100 deep', () => {
  it.each([
    ['the earliest Date', new Date(-8.64e15)],
    ['the latest Date', new Date(8.64e15)],
    ['the epoch (seconds taken for ms)', new Date(0)],
    ['367 days ago', new Date(Date.now() - 367 * DAY)],
  ])('deliverAt %s: DELAY_OUT_OF_RANGE', async (_, deliverAt) => {
    await refuses(good({ deliverAt }), 'DELAY_OUT_OF_RANGE', 'deliverAt');
  });

  it('a deliverAt in the recent past is due at once', async () => {
    const at = new Date(Date.now() - 60_000);
    const e = await walbox.append(pool, good({ deliverAt: at }));
    expect(e.deliverAt?.getTime()).toBe(at.getTime());
  });

  it.each([
    ['payload', 10_000],
    ['payload', 101],
    ['before', 101],
    ['headers', 100],
  ])('%s nested %i deep: INVALID_ENTRY, no RangeError', async (field, depth) => {
    const value = field === 'headers' ? { h: nested(depth) } : nested(depth);
    const err = await refuses(good({ [field]: value }), 'INVALID_ENTRY', field);
    expect(err.message).toContain('100');
  });

  it('a payload nested 100 deep is stored and read back as sent', async () => {
    const payload = nested(100);
    const e = await walbox.append(pool, good({ payload }));
    const { rows } = await pool.query(`select payload from "${schema}".entries where id = $1`, [e.id]);
    expect(rows[0].payload).toEqual(payload);
  });
});

describe('maxPayloadBytes applies to the whole entry', () => {
  const big = 'x'.repeat(5000);
  it.each([
    ['before', { before: big }],
    ['headers', { headers: { big } }],
    ['key and payload together', { key: 'k'.repeat(500), payload: 'p'.repeat(600) }],
    ['actor and idempotency key together', { actor: 'a'.repeat(600), idempotencyKey: 'i'.repeat(500) }],
  ])('%s over the namespace limit: PAYLOAD_TOO_LARGE', async (_, bad) => {
    const err = await refuses(good({ namespace: 'small', ...bad }), 'PAYLOAD_TOO_LARGE');
    expect(err).toMatchObject({ limit: 1024, namespace: 'small' });
    expect((err as unknown as { bytes: number }).bytes).toBeGreaterThan(1024);
  });

  it('an entry of exactly the limit is accepted', async () => {
    // key (1) + op (6) + payload JSON (2 quotes + n) = 1024
    const e = await walbox.append(pool, good({ namespace: 'small', key: 'k', payload: 'x'.repeat(1015) }));
    expect(e.duplicate).toBe(false);
    await refuses(good({ namespace: 'small', key: 'k', payload: 'x'.repeat(1016) }), 'PAYLOAD_TOO_LARGE');
  });
});

describe('appendMany is capped in count and bytes', () => {
  it('more than 50,000 entries: BATCH_TOO_LARGE naming maxBatchEntries', async () => {
    const entries = Array.from({ length: 50_001 }, (_, i) => good({ key: `k${i}` }));
    const err = await rejectsTyped(
      pool,
      schema,
      biz,
      (client) => walbox.appendMany(client, entries),
      'BATCH_TOO_LARGE',
    );
    expect(err).toMatchObject({ limit: 'maxBatchEntries', max: 50_000, actual: 50_001 });
  });

  it('more than 64 MiB of entries: BATCH_TOO_LARGE naming maxBatchBytes', async () => {
    const payload = 'x'.repeat(1_000_000); // under the namespace's 1 MiB
    const entries = Array.from({ length: 70 }, (_, i) => good({ key: `k${i}`, payload }));
    const err = await rejectsTyped(
      pool,
      schema,
      biz,
      (client) => walbox.appendMany(client, entries),
      'BATCH_TOO_LARGE',
    );
    expect(err).toMatchObject({ limit: 'maxBatchBytes', max: 64 * 1024 * 1024 });
  });
});

describe('the SQL append path enforces the same limits', () => {
  const sqlRefuses = async (text: string, values: unknown[], state: string, word: string) => {
    const err = (await inOpenTransaction(pool, schema, biz, async (client) => {
      await client.query('savepoint s');
      try {
        await client.query(text, values);
      } finally {
        await client.query('rollback to savepoint s');
      }
    })) as { code?: string; message?: string } | undefined;
    expect(err, 'the SQL append should have been refused').toBeDefined();
    expect(err).toMatchObject({ code: state });
    expect(err!.message).toContain(word);
  };
  const append = (args: string) => `select "${schema}".append(${args})`;

  it.each([
    ["'users', repeat('k', 513), 'upsert', '{}'", 'WB003', 'key'],
    ["'users', repeat('é', 300), 'upsert', '{}'", 'WB003', 'key'],
    ["'users', 'k', repeat('o', 65), '{}'", 'WB003', 'op'],
    ["'users', 'k', 'upsert', '{}', p_idempotency_key => repeat('i', 513)", 'WB003', 'idempotency key'],
    ["'users', 'k', 'upsert', '{}', p_actor => repeat('a', 1025)", 'WB003', 'actor'],
    ["'users', 'k', 'upsert', '{}', p_delay => interval '1000 years'", 'WB004', 'delay'],
    ["'users', 'k', 'upsert', '{}', p_delay => interval '367 days'", 'WB004', 'delay'],
    ["'users', 'k', 'upsert', '{}', p_deliver_at => now() + interval '1000 years'", 'WB004', 'deliver'],
    ["'users', 'k', 'upsert', '{}', p_deliver_at => '1970-01-01'", 'WB004', 'deliver'],
    ["'small', 'k', 'upsert', '{}', p_before => to_jsonb(repeat('x', 5000))", 'WB002', 'bytes'],
    [
      "'small', 'k', 'upsert', '{}', p_headers => jsonb_build_object('h', repeat('x', 5000))",
      'WB002',
      'bytes',
    ],
    [`'users', 'k', 'upsert', '${'['.repeat(101)}${']'.repeat(101)}'`, 'WB003', 'deep'],
    [`'users', 'k', 'upsert', '{}', p_before => '${'['.repeat(101)}${']'.repeat(101)}'`, 'WB003', 'deep'],
  ])('append(%s) raises %s', async (args, state, word) => {
    await sqlRefuses(append(args), [], state, word);
  });

  it('a captured row whose key is over 512 bytes fails its own statement with WB003, nothing appended', async () => {
    await pool.query(`create table "${biz}".captured (id text primary key, v int)`);
    await walbox.captureTable(`${biz}.captured`, { namespace: 'users', keyColumn: 'id' });
    await sqlRefuses(`insert into "${biz}".captured values (repeat('é', 300), 1)`, [], 'WB003', 'key');
    await pool.query(`insert into "${biz}".captured values (repeat('é', 256), 1)`);
  });

  it('accepts the limits themselves', async () => {
    await pool.query(append("'users', repeat('k', 512), 'upsert', '{}', p_delay => interval '366 days'"));
    await pool.query(append(`'users', 'k', 'upsert', '${'['.repeat(100)}${']'.repeat(100)}'`));
  });

  // Parsing append_one's and append_json's JSON input into records would refuse these with a raw 22P05 or
  // 22P02: raise_unstorable_text checks the raw text ahead of the parse.
  it.each([
    [
      '\\u0000 in the payload',
      '{"namespace":"users","key":"k","op":"upsert","payload":{"a":"\\u0000"}}',
      'u0000',
    ],
    [
      'a lone high surrogate',
      '{"namespace":"users","key":"k","op":"upsert","payload":"\\ud83d"}',
      'surrogate',
    ],
    ['a lone low surrogate', '{"namespace":"users","key":"k","op":"upsert","before":"\\ude00"}', 'surrogate'],
    [
      'a swapped pair',
      '{"namespace":"users","key":"k","op":"upsert","headers":{"h":"\\ude00\\ud83d"}}',
      'surrogate',
    ],
  ])('append_one with %s raises WB003', async (_, json, word) => {
    await sqlRefuses(`select * from "${schema}".append_one($1::json)`, [json], 'WB003', word);
    await sqlRefuses(`select * from "${schema}".append_json($1::json)`, [`[${json}]`], 'WB003', word);
  });

  it('append_one stores an escaped surrogate pair and an escaped backslash before u0000 as text', async () => {
    const json =
      '{"namespace":"users","key":"k","op":"upsert","payload":{"e":"\\ud83d\\ude00","b":"\\\\u0000"}}';
    const { rows } = await pool.query(`select payload from "${schema}".append_one($1::json)`, [json]);
    expect(rows[0].payload).toEqual({ e: '😀', b: '\\u0000' });
  });
});

describe('the audit trail records the login role beside the claimed actor', () => {
  it('session_role is session_user, whatever actor the caller claims', async () => {
    const e = await walbox.append(pool, good({ actor: 'someone-else' }));
    const { rows } = await pool.query(
      `select actor, session_role, session_user::text as login from "${schema}".audit where id = $1`,
      [e.id],
    );
    expect(rows[0]).toMatchObject({ actor: 'someone-else' });
    expect(rows[0].session_role).toBe(rows[0].login);
  });
});
