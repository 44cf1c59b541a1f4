// Property: whatever a caller appends is either stored and read back exactly as JSON carries it, or refused
// with a typed WalboxError, nothing appended and the caller's transaction still usable. Never a raw driver
// error, never a crash, never part of a batch.
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AppendedEntry, EntryInput } from '../../src/entry.js';
import { WalboxError } from '../../src/errors.js';
import { businessSchema } from '../support/business-schema.js';
import { isolatedWalbox } from '../support/db.js';
import { FUZZ_TIMEOUT_MS, fuzzRuns, hostileEntry } from './arbitraries.js';
import { inOpenTransaction, notesTable } from './open-transaction.js';

const { pool, walbox, schema } = await isolatedWalbox('fuzz-entries');
const biz = await businessSchema(pool, schema);
const tally = { stored: 0, refused: 0 };

beforeAll(async () => {
  await notesTable(pool, biz);
  await walbox.namespaces.upsert({ name: 'fz', targets: ['t1', 't2'], partitions: 4 });
  await walbox.namespaces.upsert({ name: 'fz-small', targets: ['t1'], maxPayloadBytes: 2048 });
});

/** What JSON carries of a value: what a sink receives, and what the log must hold. */
const asJson = (value: unknown) => JSON.parse(JSON.stringify(value));

async function expectStored(entries: readonly EntryInput[], stored: AppendedEntry[]): Promise<void> {
  expect(stored).toHaveLength(entries.length);
  const { rows } = await pool.query(
    `select id::text, namespace, key, op, payload, before, headers, targets, idempotency_key, actor
       from "${schema}".entries where id = any($1::bigint[])`,
    [stored.map((s) => s.id)],
  );
  const byId = new Map(rows.map((r) => [r.id, r]));
  entries.forEach((input, i) => {
    const row = byId.get(stored[i]!.id);
    expect(row, `entry ${i} is in the log`).toBeDefined();
    if (stored[i]!.duplicate) {
      // An idempotency key seen before: the earlier entry, which holds that key.
      expect(row.idempotency_key).toBe(input.idempotencyKey);
      return;
    }
    expect(row).toMatchObject({ namespace: input.namespace, key: input.key, op: input.op });
    expect(row.payload).toEqual(asJson(input.payload ?? null));
    expect(row.before).toEqual(input.before === undefined ? null : asJson(input.before));
    expect(row.headers).toEqual(asJson(input.headers ?? {}));
    expect(row.idempotency_key).toBe(input.idempotencyKey ?? null);
    if (input.actor !== undefined) expect(row.actor).toBe(input.actor);
    if (input.targets !== undefined) expect(row.targets).toEqual(input.targets);
  });
}

async function appendProperty(entries: readonly EntryInput[]): Promise<void> {
  let stored: AppendedEntry[] | undefined;
  const error = await inOpenTransaction(pool, schema, biz, async (client) => {
    stored =
      entries.length === 1
        ? [await walbox.append(client, entries[0]!)]
        : await walbox.appendMany(client, entries);
  });
  if (error !== undefined) {
    tally.refused++;
    if (!(error instanceof WalboxError)) {
      throw new Error(`a raw error instead of a WalboxError: ${String(error)}`, { cause: error });
    }
    expect(typeof error.code).toBe('string');
    return;
  }
  tally.stored++;
  await expectStored(entries, stored!);
}

describe('fuzzed entries', () => {
  it(
    'append: stored exactly, or a typed refusal with the transaction usable',
    async () => {
      await fc.assert(
        fc.asyncProperty(hostileEntry, (entry) => appendProperty([entry])),
        fuzzRuns(100),
      );
      console.log(`fuzz append: ${tally.stored} stored, ${tally.refused} refused`);
      expect(tally.stored).toBeGreaterThan(0);
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    'appendMany: all stored, or a typed refusal and none',
    async () => {
      const before = { ...tally };
      await fc.assert(
        fc.asyncProperty(fc.array(hostileEntry, { minLength: 2, maxLength: 5 }), appendProperty),
        fuzzRuns(40),
      );
      console.log(
        `fuzz appendMany: ${tally.stored - before.stored} stored, ${tally.refused - before.refused} refused`,
      );
    },
    FUZZ_TIMEOUT_MS,
  );
});
