// CursorLease.surelyHeld: for how long a holder may skip asking the database whether it still holds its
// drain lease (half a lease after the statement that last extended it began), and never after losing it.
import { describe, expect, it } from 'vitest';
import { CursorLease } from '../../src/dispatch/cursor-lease.js';
import { toQueryable } from '../../src/executor.js';
import { sqlContext } from '../../src/sql/context.js';
import { isolatedWalbox } from '../support/db.js';

const { pool, walbox, schema } = await isolatedWalbox('lease');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('CursorLease.surelyHeld', () => {
  it('holds for half a lease after each extension, and not once the lease is gone', async () => {
    await walbox.namespaces.upsert({ name: 'l', partitions: 1, targets: ['t'] });
    const sql = sqlContext(toQueryable(pool), schema);
    const ref = { namespace: 'l', target: 't', partition: 0 };
    const a = new CursorLease(sql, ref, 'a', 1000);
    const b = new CursorLease(sql, ref, 'b', 1000);
    expect(a.surelyHeld).toBe(false);
    expect(await a.acquire()).toBeDefined();
    expect(a.surelyHeld).toBe(true);
    expect(await b.acquire()).toBeUndefined(); // a's lease is live
    await sleep(600);
    expect(a.surelyHeld).toBe(false); // past half a lease: ask the database
    expect(await a.renew()).toBe(true);
    expect(a.surelyHeld).toBe(true);
    await sleep(1100); // the lease lapses
    expect(await b.acquire()).toBeDefined();
    expect(a.surelyHeld).toBe(false);
    expect(await a.renew()).toBe(false);
    expect(a.surelyHeld).toBe(false);
    await b.release();
    expect(b.surelyHeld).toBe(false);
  });
});
