import { InvalidConfigError } from './errors.js';
import { assertLogicalName } from './names.js';
import type { Sql } from './sql/context.js';

export interface AuditFilter {
  /** The history of one key. */
  key?: string;
  namespace?: string;
  /** Changes made by this actor. */
  actor?: string;
  /** The newest `limit` matching rows (default 20, at most 10,000), returned oldest first. */
  limit?: number;
}

/** One row of the `<schema>.audit` view: who changed what, when, in which transaction, and its delivery. */
export interface AuditRow {
  id: string;
  changed_at: Date;
  actor: string | null;
  namespace: string;
  key: string;
  op: string;
  transaction_id: string;
  before: unknown;
  after: unknown;
  headers: Record<string, unknown>;
  targets: string[];
  deliver_at: Date | null;
  idempotency_key: string | null;
  /** Per target: 'applied', 'pending' or 'dead'. */
  delivery: Record<string, 'applied' | 'pending' | 'dead'>;
  /** The login role that appended it (session_user), whatever actor it claimed; null before migration 0013. */
  session_role: string | null;
}

/** The newest rows of the audit view that match, oldest first (as `walbox audit` prints them). */
export async function readAudit(sql: Sql, filter: AuditFilter = {}): Promise<AuditRow[]> {
  const { key, namespace, actor, limit = 20 } = filter;
  if (namespace !== undefined) assertLogicalName('namespace', namespace);
  if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) {
    throw new InvalidConfigError('limit', 'expected an integer from 1 to 10000');
  }
  const { rows } = await sql.db.query<AuditRow>(
    `select * from (
       select a.* from ${sql.schema}.audit a
        where ($1::text is null or a.key = $1) and ($2::text is null or a.namespace = $2)
          and ($3::text is null or a.actor = $3)
        order by a.id desc limit $4) newest
      order by id`,
    [key ?? null, namespace ?? null, actor ?? null, limit],
  );
  return rows;
}
