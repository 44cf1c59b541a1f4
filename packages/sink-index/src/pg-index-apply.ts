import { type FailedEntry, groupByTransaction, type SinkAction, type SinkEntry } from '@walbox/sink-kit';
import type pg from 'pg';
import { type UniqueViolation, UniqueViolationError } from './errors.js';
import type { IndexSet } from './index-definition.js';
import type { StoreApplyResult } from './index-store.js';
import { planChanges } from './key-change.js';
import type { ResolvedPostgresIndexSinkConfig } from './pg-index-sink-config.js';
import { lockSql } from './pg-index-sql.js';
import { lockTexts, writeLive } from './pg-index-writes.js';

interface Deps {
  config: ResolvedPostgresIndexSinkConfig;
  indexes: IndexSet;
  actionOf: (e: SinkEntry) => SinkAction;
}

const keyOf = (e: { namespace: string; key: string }) => `${e.namespace}\u0000${e.key}`;

/**
 * Applies a batch on `client`, source transaction by source transaction (the dispatcher's ctx.transactions
 * lists these same groups, by xid; groupByTransaction also serves batches built without a context). A source
 * transaction that cannot be applied (an extract failed, a unique claim refused, Postgres refused its data)
 * fails whole, and so do the later ones of its keys. Any other error is thrown, leaving the transaction open
 * for the caller to roll back.
 *
 * commit 'transaction': a database transaction each. commit 'batch': one for the batch, which first tries the
 * whole batch as one decision (one write per key, unique claims checked against the state the batch leaves)
 * and, if that fails, goes source transaction by source transaction under savepoints.
 */
export async function applyBatch(
  client: pg.ClientBase,
  { config, indexes, actionOf }: Deps,
  batch: readonly SinkEntry[],
  signal: AbortSignal | undefined,
): Promise<StoreApplyResult> {
  const policy = config.onUniqueViolation === 'fail' ? 'fail' : 'report';
  const perBatch = config.commit === 'batch';
  const begin = `begin; set local statement_timeout = ${config.statementTimeoutMs}`;
  const [open, done, undo] = perBatch
    ? ['savepoint part', 'release savepoint part', 'rollback to savepoint part']
    : [begin, 'commit', 'rollback'];
  const failed: FailedEntry[] = [];
  const violations: UniqueViolation[] = [];
  const plans = groupByTransaction(batch).map(({ entries }) => ({
    entries,
    plan: planChanges(entries, indexes, actionOf),
  }));

  /** Writes `changes` in a transaction or savepoint of their own; the reason they were not, if so. */
  const attempt = async (
    changes: Parameters<typeof writeLive>[2],
  ): Promise<{ error: unknown } | undefined> => {
    await client.query(open);
    try {
      const d = await writeLive(client, config.schema, changes, policy, perBatch);
      await client.query(d.refused ? undo : done);
      if (d.refused) return { error: new UniqueViolationError(d.violations[0]!) };
      violations.push(...d.violations);
      return undefined;
    } catch (error) {
      if (!isAboutEntries(error)) throw error;
      await client.query(undo);
      return { error };
    }
  };

  if (perBatch) {
    await client.query(begin);
    // Every lock of the batch in one statement: taken source transaction by source transaction, two batches
    // (or a batch and a rebuild) could each hold what the other waits for.
    await client.query(lockSql, [lockTexts(plans.flatMap((p) => p.plan.changes))]);
    const whole = planChanges(batch, indexes, actionOf);
    if (whole.failed.length === 0 && (whole.changes.length === 0 || !(await attempt(whole.changes)))) {
      await client.query('commit');
      return { failed, violations };
    }
  }
  const broken = new Set<string>();
  for (const { entries, plan } of plans) {
    signal?.throwIfAborted();
    const earlier = entries.find((e) => broken.has(keyOf(e)));
    const reason = earlier
      ? { error: new Error(`an earlier entry of key ${JSON.stringify(earlier.key)} failed in this batch`) }
      : plan.failed.length > 0
        ? { error: plan.failed[0]!.error }
        : plan.changes.length > 0
          ? await attempt(plan.changes)
          : undefined;
    if (!reason) continue;
    for (const e of entries) {
      failed.push({ id: e.id, error: reason.error });
      broken.add(keyOf(e));
    }
  }
  if (perBatch) await client.query('commit');
  return { failed, violations };
}

/**
 * A Postgres error about the data of the statement (SQLSTATE class 22, 23, 54): retrying cannot help, so the
 * source transaction fails; any other error (the connection, a timeout, a deadlock) fails the batch.
 */
function isAboutEntries(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^(22|23|54)[0-9A-Z]{3}$/.test(code);
}
