import type { FailedEntry, KeyCommand } from '@walbox/sink-kit';
import type pg from 'pg';
import { isAboutEntries } from './pg-errors.js';
import type { PostgresSinkEntry } from './postgres-sink-config.js';
import { type ReplicaTable, upsertSql } from './replica-sql.js';
import { keyOf, type PlannedTransaction } from './transaction-plan.js';

/** Writes one source transaction's commands in the open replica transaction; throws to fail it. */
export type WriteTransaction = (
  client: pg.ClientBase,
  t: PlannedTransaction<PostgresSinkEntry>,
) => Promise<void>;

/** The default writer: version-guarded upserts into the table of each namespace. */
export function tableWriter(tableOf: TableOf): WriteTransaction {
  return async (client, t) => {
    const writes = byTable(t.commands, tableOf);
    if ('error' in writes) throw writes.error;
    for (const [table, commands] of writes) await client.query(upsertSql(table), columns(commands));
  };
}

/**
 * A namespace's table (one object per namespace, so that two namespaces mapped to one table are written by two
 * statements: one upsert may not touch a row twice), or why it has none (tableFor threw or gave a bad name).
 */
export type TableOf = (namespace: string) => ReplicaTable | { error: unknown };

/**
 * Applies the planned source transactions in one replica transaction, each under a savepoint: a source
 * transaction whose write Postgres refuses (isAboutEntries) is rolled back to its savepoint and all its
 * entries fail; so do the later source transactions that touch one of its keys, since nothing later of a key
 * may be applied before a failed entry of it. The others commit together, so a reader of the replica sees a
 * source transaction whole or not at all. Any other error rolls everything back and is thrown.
 */
export async function writeTransactions(
  client: pg.ClientBase,
  plan: readonly PlannedTransaction<PostgresSinkEntry>[],
  write: WriteTransaction,
  signal: AbortSignal | undefined,
): Promise<FailedEntry[]> {
  const failed: FailedEntry[] = [];
  const broken = new Set<string>();
  const fail = (t: PlannedTransaction<PostgresSinkEntry>, error: unknown) => {
    for (const e of t.entries) {
      failed.push({ id: e.id, error });
      broken.add(keyOf(e));
    }
  };
  for (const t of plan) {
    signal?.throwIfAborted();
    const earlier = t.entries.find((e) => broken.has(keyOf(e)));
    if (t.error !== undefined) fail(t, t.error);
    else if (earlier)
      fail(t, new Error(`an earlier entry of key ${JSON.stringify(earlier.key)} failed in this batch`));
    else if (t.commands.length > 0) {
      await client.query('savepoint source_transaction');
      try {
        await write(client, t);
        await client.query('release savepoint source_transaction');
      } catch (error) {
        // A Postgres error about the database or the connection fails the batch; so does any error after
        // which the savepoint cannot be rolled back to (the connection is gone). An error about the data, or
        // one a mapping threw on its own (a bug in it: retrying cannot help), fails the source transaction.
        const code = (error as { code?: unknown } | null)?.code;
        if (typeof code === 'string' && !isAboutEntries(error)) throw error;
        await client.query('rollback to savepoint source_transaction');
        fail(t, error);
      }
    }
  }
  return failed;
}

function byTable(
  commands: readonly KeyCommand<PostgresSinkEntry>[],
  tableOf: TableOf,
): Map<ReplicaTable, KeyCommand<PostgresSinkEntry>[]> | { error: unknown } {
  const writes = new Map<ReplicaTable, KeyCommand<PostgresSinkEntry>[]>();
  for (const c of commands) {
    const table = tableOf(c.last.namespace);
    if ('error' in table) return table;
    const list = writes.get(table);
    if (list) list.push(c);
    else writes.set(table, [c]);
  }
  return writes;
}

/** The four arrays upsertSql takes, for the commands of one namespace (one key once). */
function columns(commands: readonly KeyCommand<PostgresSinkEntry>[]) {
  const keys: string[] = [];
  const payloads: Array<string | null> = [];
  const versions: string[] = [];
  const deleted: boolean[] = [];
  for (const { last, action } of commands) {
    keys.push(last.key);
    payloads.push(action === 'delete' ? null : (JSON.stringify(last.payload) ?? 'null'));
    versions.push(last.id);
    deleted.push(action === 'delete');
  }
  return [keys, payloads, versions, deleted];
}
