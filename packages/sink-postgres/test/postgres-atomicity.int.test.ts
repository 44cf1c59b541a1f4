import { entry } from '@walbox/sink-testkit';
import { afterAll, expect, inject, it } from 'vitest';
import { createPostgresSink } from '../src/index.js';
import { replicaDatabase } from './replica-database.js';

const replica = await replicaDatabase(inject('databaseUrl'));
const sink = createPostgresSink({ connectionString: replica.url, schema: 'atomic' });
afterAll(() => sink.close());

it('never shows a reader of the replica part of a source transaction', async () => {
  // Every source transaction sets five accounts and five ledger rows (two namespaces, so two tables and two
  // statements) to its own number; a reader that sees two numbers in one snapshot saw half a transaction.
  await sink.ensureTables(['accounts', 'ledger']);
  const snapshot = `select array_cat(
                      (select array_agg(payload->>'t') from atomic."accounts"),
                      (select array_agg(payload->>'t') from atomic."ledger")) as ts`;
  let writing = true;
  const torn: string[] = [];
  let reads = 0;
  const reader = (async () => {
    while (writing) {
      const { rows } = await replica.pool.query<{ ts: string[] | null }>(snapshot);
      const ts = rows[0]!.ts ?? [];
      if (new Set(ts).size > 1) torn.push(ts.join(','));
      reads++;
    }
  })();
  let id = 0;
  try {
    for (let b = 0; b < 60; b++) {
      // Three source transactions per batch, their entries interleaved as concurrent transactions' are.
      const txs = [1, 2, 3].map((i) => b * 3 + i);
      const batch = [];
      for (const namespace of ['accounts', 'ledger'])
        for (let k = 0; k < 5; k++)
          for (const t of txs)
            batch.push(entry(namespace, ++id, `k${k}`, 'upsert', { t: String(t) }, `x${t}`));
      expect(await sink.apply(batch)).toBeUndefined();
    }
  } finally {
    writing = false;
    await reader;
  }
  expect(reads).toBeGreaterThan(0);
  expect(torn).toEqual([]);
  const { rows } = await replica.pool.query<{ ts: string[] }>(snapshot);
  expect(new Set(rows[0]!.ts)).toEqual(new Set(['180']));
});
