import { describe, expect, it } from 'vitest';
import { isolatedWalbox } from './support/db.js';

const { pool, walbox, schema } = await isolatedWalbox('append');

describe('append', () => {
  it('appends and returns the stored entry', async () => {
    await walbox.namespaces.upsert({ name: 'users', targets: ['cache'] });
    const e = await walbox.append(pool, { namespace: 'users', key: 'u1', op: 'upsert', payload: { a: 1 } });
    expect(e.id).toMatch(/^\d+$/);
    expect(e.payload).toEqual({ a: 1 });
    expect(e.targets).toEqual(['cache']);
    const many = await walbox.appendMany(
      pool,
      Array.from({ length: 5 }, (_, i) => ({
        namespace: 'users',
        key: `k${i}`,
        op: 'upsert',
        payload: { i },
      })),
    );
    expect(many.map((m) => m.payload)).toEqual([0, 1, 2, 3, 4].map((i) => ({ i })));
    const { rows } = await pool.query(`select count(*)::int as n from "${schema}".entries`);
    expect(rows[0].n).toBe(6);
  });
});

describe('duplicate flag', () => {
  it('says whether append stored a new entry or returned the one with the same idempotency key', async () => {
    await walbox.namespaces.upsert({ name: 'dup', targets: [] });
    const first = await walbox.append(pool, {
      namespace: 'dup',
      key: 'k',
      op: 'upsert',
      idempotencyKey: 'x',
    });
    const again = await walbox.append(pool, {
      namespace: 'dup',
      key: 'k',
      op: 'upsert',
      idempotencyKey: 'x',
    });
    expect(first.duplicate).toBe(false);
    expect(again).toMatchObject({ id: first.id, duplicate: true });
  });
});
