import { describe, expect, it } from 'vitest';
import { type Executor, toQueryable } from '../../src/executor.js';

/** Objects shaped like each executor, recording which member walbox called. */
function shapes(calls: string[]) {
  const rows = { rows: [{ ok: 1 }], fields: [] };
  const called = <T>(call: string, result: T): T => {
    calls.push(call);
    return result;
  };
  const knex = Object.assign(() => undefined, {
    raw: (sql: string) => {
      calls.push(`knex.raw ${sql}`);
      return Object.assign(Promise.resolve(rows), { on: () => undefined });
    },
    client: { dialect: 'postgresql' },
  });
  return {
    pg: { query: async (text: string) => called(`pg.query ${text}`, rows) },
    prisma: { $queryRawUnsafe: async (text: string) => called(`prisma ${text}`, rows.rows) },
    drizzle: {
      query: {}, // Drizzle's relational query builder: an object, not pg's function
      _: {
        session: {
          prepareQuery: (q: { sql: string }) => ({
            execute: async () => called(`drizzle ${q.sql}`, rows),
          }),
        },
      },
    },
    knex,
  };
}

describe('toQueryable', () => {
  it.each(['pg', 'prisma', 'drizzle', 'knex'] as const)(
    'runs a %s executor through its own member',
    async (kind) => {
      const calls: string[] = [];
      const executor = shapes(calls)[kind] as unknown as Executor;
      expect(await toQueryable(executor).query('select $1', [1])).toEqual({ rows: [{ ok: 1 }] });
      expect(calls).toEqual([
        `${kind === 'pg' ? 'pg.query' : kind === 'knex' ? 'knex.raw' : kind} select ${kind === 'knex' ? '?' : '$1'}`,
      ]);
    },
  );

  it('refuses a Knex instance on another client before sending anything', () => {
    const mysql = Object.assign(() => undefined, {
      raw: () => Promise.resolve({}),
      client: { dialect: 'mysql' },
    });
    expect(() => toQueryable(mysql as unknown as Executor)).toThrow(/must use the pg client, not mysql/);
  });

  it('refuses a Drizzle result that is not node-postgres', async () => {
    const postgresJs = {
      _: { session: { prepareQuery: () => ({ execute: async () => [{ ok: 1 }] }) } },
    };
    await expect(toQueryable(postgresJs as unknown as Executor).query('select 1')).rejects.toThrow(
      /node-postgres driver/,
    );
  });

  it('refuses what is no executor', () => {
    expect(() => toQueryable({ execute: () => 1 } as unknown as Executor)).toThrow(TypeError);
  });
});
