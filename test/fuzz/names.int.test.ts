// Property: hostile names (quotes, semicolons, dots, upper case, unicode, NUL) for schema, namespace,
// target, table and column, and hostile namespace configs, are either accepted and work, or refused with a
// typed WalboxError: never a raw driver error, never SQL built from an unvalidated name.
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { WalboxError } from '../../src/errors.js';
import { Walbox } from '../../src/walbox.js';
import { businessSchema } from '../support/business-schema.js';
import { isolatedWalbox } from '../support/db.js';
import { FUZZ_TIMEOUT_MS, fuzzRuns, hostileName } from './arbitraries.js';

const { pool, walbox, schema } = await isolatedWalbox('fuzz-names');
const biz = await businessSchema(pool, schema);

beforeAll(async () => {
  await walbox.namespaces.upsert({ name: 'fzn', targets: ['t1'] });
});

/** Runs `attempt`: a WalboxError is a refusal (false), success is acceptance (true), anything else fails. */
async function typedOrAccepted(attempt: () => Promise<unknown>): Promise<boolean> {
  try {
    await attempt();
    return true;
  } catch (err) {
    if (err instanceof WalboxError) return false;
    throw new Error(`a raw error instead of a WalboxError: ${String(err)}`, { cause: err });
  }
}

describe('fuzzed names', () => {
  it(
    'namespace and target names: accepted and appendable, or INVALID_NAME / INVALID_CONFIG',
    async () => {
      await fc.assert(
        fc.asyncProperty(hostileName, hostileName, async (name, target) => {
          const accepted = await typedOrAccepted(() => walbox.namespaces.upsert({ name, targets: [target] }));
          if (!accepted) return;
          const e = await walbox.append(pool, { namespace: name, key: 'k', op: 'upsert', targets: [target] });
          expect(e).toMatchObject({ namespace: name, targets: [target] });
        }),
        fuzzRuns(60),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    'schema names: accepted by new Walbox, or INVALID_NAME',
    async () => {
      let migrated = 0;
      await fc.assert(
        fc.asyncProperty(hostileName, async (name) => {
          let other: Walbox | undefined;
          const accepted = await typedOrAccepted(async () => {
            other = new Walbox({ pool, schema: name });
          });
          if (!accepted || migrated >= 2) return;
          // The first two accepted names are migrated and appended to (a migration costs a second or two).
          migrated++;
          const s = other!;
          try {
            await s.migrate();
            await s.namespaces.upsert({ name: 'n' });
            await s.append(pool, { namespace: 'n', key: 'k', op: 'upsert' });
          } finally {
            await pool.query(`drop schema if exists "${name}" cascade`);
            await pool.query(`drop schema if exists "${name}_boss" cascade`);
          }
        }),
        fuzzRuns(60),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    'table and column names: captured and appending when the table exists, else a typed refusal',
    async () => {
      await fc.assert(
        fc.asyncProperty(hostileName, hostileName, async (table, column) => {
          // Create the table first when both names are ones walbox accepts (so that capture can work).
          const valid = (n: string) => /^[a-z_][a-z0-9_]{0,62}$/.test(n);
          const qualified = `${biz}.${table}`;
          if (valid(table) && valid(column)) {
            await pool.query(`create table if not exists "${biz}"."${table}" ("${column}" text primary key)`);
          }
          const accepted = await typedOrAccepted(() =>
            walbox.captureTable(qualified, { namespace: 'fzn', keyColumn: column }),
          );
          const bare = await typedOrAccepted(() =>
            walbox.captureTable(table, { namespace: 'fzn', keyColumn: column }),
          );
          if (bare) await walbox.uncaptureTable(table);
          if (!accepted) return;
          expect(valid(table) && valid(column)).toBe(true);
          const { rows } = await pool.query(
            `with ins as (insert into "${biz}"."${table}" values ('v') on conflict do nothing returning 1)
           select count(*)::int as n from ins`,
          );
          const found = await pool.query(
            `select count(*)::int as n from "${schema}".entries where namespace = 'fzn' and key = 'v'`,
          );
          if (rows[0].n === 1) expect(found.rows[0].n).toBeGreaterThan(0);
          await walbox.uncaptureTable(qualified);
        }),
        fuzzRuns(40),
      );
    },
    FUZZ_TIMEOUT_MS,
  );
});

describe('fuzzed namespace configs', () => {
  const config = fc.record(
    {
      name: fc.oneof({ weight: 3, arbitrary: fc.constantFrom('cfg-a', 'cfg-b') }, hostileName),
      targets: fc.array(fc.oneof(fc.constantFrom('t1', 't2'), hostileName), { maxLength: 3 }),
      ordering: fc.constantFrom('key', 'namespace', 'global', 'Key'),
      partitions: fc.oneof(fc.integer({ min: -1, max: 1100 }), fc.double(), fc.constant('4')),
      retry: fc.record(
        {
          limit: fc.integer({ min: -1, max: 1001 }),
          initialDelayMs: fc.integer({ min: -1, max: 100_000_000 }),
          maxDelayMs: fc.integer({ min: -1, max: 700_000_000 }),
          multiplier: fc.oneof(fc.double({ min: 0, max: 200 }), fc.constant(Number.NaN)),
        },
        { requiredKeys: [] },
      ),
      onExhausted: fc.constantFrom('dead-letter', 'block', 'drop'),
      maxPayloadBytes: fc.oneof(
        fc.integer({ min: -1, max: 70 * 1024 * 1024 }),
        fc.constant(Number.MAX_VALUE),
      ),
      retentionHours: fc.integer({ min: -1, max: 40_000 }),
      partiton: fc.constant(2),
    },
    { requiredKeys: ['name'] },
  );

  it(
    'namespaces.upsert: stored as resolved, or a typed refusal that changes nothing',
    async () => {
      await fc.assert(
        fc.asyncProperty(config, async (input) => {
          const name = input.name;
          const old =
            typeof name === 'string' ? await walbox.namespaces.get(name).catch(() => undefined) : undefined;
          const accepted = await typedOrAccepted(() =>
            walbox.namespaces.upsert(input as never, { force: true }),
          );
          if (typeof name !== 'string' || !/^[a-z][a-z0-9_.-]{0,62}$/.test(name)) {
            expect(accepted).toBe(false);
            return;
          }
          const now = await walbox.namespaces.get(name);
          if (!accepted) {
            expect(now).toEqual(old);
            return;
          }
          expect(now).toMatchObject({ name });
          if (input.partitions !== undefined) expect(now!.partitions).toBe(input.partitions);
          if (input.maxPayloadBytes !== undefined) expect(now!.maxPayloadBytes).toBe(input.maxPayloadBytes);
        }),
        fuzzRuns(60),
      );
    },
    FUZZ_TIMEOUT_MS,
  );
});
