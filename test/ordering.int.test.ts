import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { type Entry, LOG_START, type LogPosition } from '../src/index.js';
import { isolatedWalbox } from './support/db.js';

const { pool, walbox, schema } = await isolatedWalbox('ordering');
const PRODUCERS = 16;
const TX_PER_PRODUCER = 40;
const PARTITIONS = 4;

interface Scenario {
  namespace: string;
  keys: number;
  /** Entries in the next transaction. */
  size: () => number;
}

// Commit order, recorded independently of walbox: the last statement before COMMIT draws from a sequence.
// Sequences are not transactional and never block, so if walbox let two writers of one key commit in the
// opposite order of their ids, a reader going by id would show a key's commit numbers going backwards.
await pool.query(`create table "${schema}".commits (xid xid8 primary key, seq bigint not null)`);
await pool.query(`create sequence "${schema}".commit_seq`);

describe('ordering: snapshot-range reader', () => {
  it('no gap, no duplicate, no reorder, no stall under concurrent producers with late commits, rollbacks and an idle transaction', async () => {
    await scenario({ namespace: 'orders', keys: 24, size: () => 1 + Math.floor(Math.random() * 3) });
  });

  it('the same when large batches and small ones interleave', async () => {
    // Batches of 70-130 keys among single entries: walbox 0.1 locked the whole namespace for batches of more
    // than 64 keys; now every batch locks each of its keys' rows, in one sorted statement.
    await scenario({
      namespace: 'mixed',
      keys: 300,
      size: () =>
        Math.random() < 0.25 ? 70 + Math.floor(Math.random() * 60) : 1 + Math.floor(Math.random() * 3),
    });
  });

  it('one batch of 20,000 distinct keys does not exhaust the lock table', async () => {
    await walbox.namespaces.upsert({ name: 'huge', targets: ['t'] });
    const stored = await walbox.appendMany(
      pool,
      Array.from({ length: 20_000 }, (_, i) => ({
        namespace: 'huge',
        key: `k${i}`,
        op: 'upsert',
        payload: i,
      })),
    );
    expect(stored.length).toBe(20_000);
  });
});

async function scenario({ namespace, keys, size }: Scenario) {
  {
    await walbox.namespaces.upsert({ name: namespace, partitions: PARTITIONS, targets: ['t'] });

    // An unrelated session holding an xid for the whole test: an xmin-based reader would stall on it.
    const idle = await pool.connect();
    await idle.query('begin');
    await idle.query('select pg_current_xact_id()');

    const committed = new Set<string>();
    let producing = true;
    const producers = Array.from({ length: PRODUCERS }, (_, p) => produce(p));
    const read = new Map<number, Entry[]>();
    const reader = readAll(namespace, () => producing, read);
    await Promise.all(producers);
    producing = false;
    await reader;

    const all = [...read.values()].flat();
    const ids = all.map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length); // no duplicate
    expect(new Set(ids)).toEqual(committed); // no gap, nothing rolled back
    expect(committed.size).toBeGreaterThan(PRODUCERS * TX_PER_PRODUCER); // the run did real work

    const { rows } = await pool.query<{ xid: string; seq: string }>(
      `select xid::text, seq from "${schema}".commits`,
    );
    const commitSeq = new Map(rows.map((r) => [r.xid, Number(r.seq)]));
    const byKey = new Map<string, Entry[]>();
    for (const partition of read.values()) {
      for (const e of partition) byKey.set(e.key, [...(byKey.get(e.key) ?? []), e]);
    }
    for (const [key, entries] of byKey) {
      for (let i = 1; i < entries.length; i++) {
        const a = entries[i - 1]!;
        const b = entries[i]!;
        const order = [commitSeq.get(a.xid)!, commitSeq.get(b.xid)!];
        // Same key: later in the stream means committed later (or same transaction, later id).
        expect(
          order[0]! <= order[1]!,
          `key ${key}: ${a.id} (commit ${order[0]}) before ${b.id} (commit ${order[1]})`,
        ).toBe(true);
        expect(BigInt(a.id) < BigInt(b.id)).toBe(true);
      }
    }

    // The idle transaction was open throughout, and everything was still delivered: no stall.
    const { rows: still } = await idle.query<{ open: boolean }>('select true as open');
    expect(still[0]!.open).toBe(true);
    await idle.query('rollback');
    idle.release();

    async function produce(p: number) {
      const client = await pool.connect();
      try {
        for (let t = 0; t < TX_PER_PRODUCER; t++) {
          await transaction(client, p, t);
        }
      } finally {
        client.release();
      }
    }

    async function transaction(client: pg.PoolClient, p: number, t: number) {
      await client.query('begin');
      const entries = Array.from({ length: size() }, () => ({
        namespace,
        key: `k${Math.floor(Math.random() * keys)}`,
        op: 'upsert',
        payload: { p, t },
      }));
      const stored = await walbox.appendMany(client, entries);
      // Late commits: hold the transaction open a random while, so later ids often commit first.
      if (Math.random() < 0.5) await sleep(Math.random() * 30);
      if (Math.random() < 0.1) {
        await client.query('rollback');
        return;
      }
      await client.query(
        `insert into "${schema}".commits values (pg_current_xact_id(), nextval('"${schema}".commit_seq'))`,
      );
      await client.query('commit');
      for (const e of stored) committed.add(e.id);
    }
  }
}

/** Reads every partition with small batches while producers run, then until nothing new arrives. */
async function readAll(namespace: string, running: () => boolean, out: Map<number, Entry[]>) {
  const positions = new Map<number, LogPosition>();
  for (let p = 0; p < PARTITIONS; p++) {
    positions.set(p, LOG_START);
    out.set(p, []);
  }
  let quietRounds = 0;
  while (running() || quietRounds < 3) {
    let got = 0;
    for (let p = 0; p < PARTITIONS; p++) {
      const { entries, next } = await walbox.readBatch({ namespace, partition: p }, positions.get(p)!, 37);
      positions.set(p, next);
      out.get(p)!.push(...entries);
      got += entries.length;
    }
    quietRounds = running() || got > 0 ? 0 : quietRounds + 1;
    if (got === 0) await sleep(5);
  }
}
