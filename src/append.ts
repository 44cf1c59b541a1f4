import { raisedError } from './database-errors.js';
import { asSessionError } from './dispatch/session-probe.js';
import type { AppendedEntry, EntryInput, EntryRow } from './entry.js';
import { entryFromRow } from './entry.js';
import { DEFAULT_ENTRY_LIMITS, type EntryLimits, encodeEntry } from './entry-encoding.js';
import {
  BatchTooLargeError,
  EntryRejectedError,
  InvalidEntryError,
  UnknownNamespaceError,
} from './errors.js';
import { type Executor, toQueryable } from './executor.js';
import { assertLogicalName } from './names.js';
import type { NamespaceConfig } from './namespace-config.js';
import type { Namespaces } from './namespaces.js';
import { notifyAppended } from './observability/append-hooks.js';
import { traceAppend } from './observability/tracing.js';
import type { Sql } from './sql/context.js';

/**
 * The columns of append_one and append_json, the xid as text: pg reads an xid8 as a string anyway, and Prisma,
 * whose raw queries refuse the types it does not know (xid8), can then read the row too (docs/executors.md).
 */
const APPENDED_COLUMNS =
  'ord, id, namespace, key, partition, op, payload, before, headers, targets, deliver_at, idempotency_key, ' +
  'xid::text as xid, created_at, actor, duplicate';

/** How appendEntries runs: the entry limits, and whether its statement is a named prepared statement. */
export interface AppendOptions {
  limits?: EntryLimits;
  prepare?: boolean;
}

interface AppendedRow extends EntryRow {
  ord: number;
  duplicate: boolean;
}

/**
 * Validates every entry, then appends them all with one statement on the caller's executor.
 * Nothing is sent if any entry is invalid. Results come back in input order.
 */
export async function appendEntries(
  sql: Sql,
  namespaces: Namespaces,
  executor: Executor,
  entries: readonly EntryInput[],
  options: AppendOptions = {},
): Promise<AppendedEntry[]> {
  const limits = options.limits ?? DEFAULT_ENTRY_LIMITS;
  if (Array.isArray(entries) && entries.length > limits.maxBatchEntries) {
    throw new BatchTooLargeError('maxBatchEntries', entries.length, limits.maxBatchEntries);
  }
  // One span per call; each entry carries its context in a traceparent header (see observability/tracing).
  const stored = await traceAppend(entries, (carried) =>
    appendUntraced(sql, namespaces, executor, carried, limits, options.prepare === true),
  );
  notifyAppended(sql.schemaName, stored);
  return stored;
}

async function appendUntraced(
  sql: Sql,
  namespaces: Namespaces,
  executor: Executor,
  entries: readonly EntryInput[],
  limits: EntryLimits,
  prepare: boolean,
): Promise<AppendedEntry[]> {
  if (!Array.isArray(entries)) throw new TypeError('walbox: appendMany expects an array of entries');
  if (entries.length === 0) return [];
  const db = toQueryable(executor);
  const { schema } = sql;

  const configs = new Map<string, NamespaceConfig>();
  const parts: string[] = new Array(entries.length);
  let bytes = 2; // the array's brackets
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i];
    const index = entries.length === 1 ? undefined : i;
    if (typeof entry !== 'object' || entry === null) {
      throw new InvalidEntryError('INVALID_ENTRY', '(entry)', 'expected an object', index);
    }
    let ns = configs.get(entry.namespace);
    if (!ns) {
      assertLogicalName('namespace', entry.namespace);
      ns = await namespaces.require(entry.namespace, db);
      configs.set(entry.namespace, ns);
    }
    parts[i] = encodeEntry(entry, ns, index, limits);
    bytes += Buffer.byteLength(parts[i]!) + (i > 0 ? 1 : 0);
    if (bytes > limits.maxBatchBytes)
      throw new BatchTooLargeError('maxBatchBytes', bytes, limits.maxBatchBytes);
  }

  let rows: AppendedRow[];
  try {
    // Slim: Postgres sends back what it decided (id, partition, xid, ...), not the payloads it was sent.
    // One entry takes append_one, which skips the set-wise work of a batch (a third of the backend CPU).
    ({ rows } =
      parts.length === 1
        ? await db.query<AppendedRow>(
            `select ${APPENDED_COLUMNS} from ${schema}.append_one($1::json, true)`,
            [parts[0]],
            { prepare },
          )
        : await db.query<AppendedRow>(
            `select ${APPENDED_COLUMNS} from ${schema}.append_json($1::json, true)`,
            [`[${parts.join(',')}]`],
            { prepare },
          ));
  } catch (err) {
    throw translate(err, namespaces);
  }
  rows.sort((a, b) => a.ord - b.ord);
  return rows.map((r) =>
    r.duplicate ? { ...entryFromRow(r), duplicate: true } : fromInput(entries[r.ord - 1]!, r),
  );
}

/** A new entry: the fields the caller sent, as sent, plus those Postgres decided. */
function fromInput(input: EntryInput, row: AppendedRow): AppendedEntry {
  return {
    id: row.id,
    namespace: input.namespace,
    key: input.key,
    partitionKey: input.partitionKey ?? null,
    partition: row.partition,
    op: input.op,
    payload: input.payload ?? null,
    before: input.before ?? null,
    headers: input.headers ?? {},
    targets: row.targets,
    deliverAt: row.deliver_at,
    idempotencyKey: input.idempotencyKey ?? null,
    xid: row.xid,
    createdAt: row.created_at,
    actor: row.actor,
    duplicate: false,
  };
}

/**
 * append_json's refusals (raised for SQL callers, or on a race with a namespace change) as typed errors; a
 * refusal that names a namespace or its limits means the cached config is stale.
 */
function translate(err: unknown, namespaces: Namespaces): unknown {
  // preparedStatements behind a pooler that lost the statement: SessionRequiredError says what to do.
  const session = asSessionError(err);
  if (session !== err) return session;
  const explained = raisedError(err);
  if (explained instanceof UnknownNamespaceError) namespaces.forget();
  if (explained instanceof EntryRejectedError && explained.code === 'PAYLOAD_TOO_LARGE') namespaces.forget();
  return explained;
}
