import { InvalidConfigError, UnknownNamespaceError } from './errors.js';
import { assertIdentifier, assertLogicalName, quoteIdent, quoteQualified } from './names.js';
import type { Sql } from './sql/context.js';

export interface CaptureOptions {
  namespace: string;
  /** The column whose value is the entry key (usually the primary key). */
  keyColumn: string;
}

/**
 * Installs (or replaces) an AFTER ROW trigger that appends every INSERT/UPDATE/DELETE of `table` to the
 * log with before and after images. Trigger arguments are string literals, so they are validated names.
 */
export async function captureTable(sql: Sql, table: string, options: CaptureOptions) {
  const { db, schemaName: schema, schema: q } = sql;
  const qualified = quoteQualified('table', table);
  assertLogicalName('namespace', options.namespace);
  assertIdentifier('column', options.keyColumn);
  const trigger = quoteIdent('trigger', triggerName(schema));
  // Checked here: otherwise the trigger would make every later write to the table fail with WB001.
  const known = await db.query(`select 1 from ${q}.namespaces where name = $1`, [options.namespace]);
  if (known.rows.length === 0) throw new UnknownNamespaceError(options.namespace);
  const { rows } = await db.query<{ found: boolean; table_schema: string | null }>(
    `select exists (
       select 1 from pg_attribute
        where attrelid = to_regclass($1) and attname = $2 and attnum > 0 and not attisdropped) as found,
       (select n.nspname from pg_class c join pg_namespace n on n.oid = c.relnamespace
         where c.oid = to_regclass($1)) as table_schema`,
    [qualified, options.keyColumn],
  );
  // walbox's own tables (and pg-boss's beside them): capturing one would append on every append, each
  // append writing the table again, until an entry grew past its size limit.
  const own = [schema, `${schema}_boss`];
  if (rows[0]?.table_schema && own.includes(rows[0].table_schema)) {
    throw new InvalidConfigError(
      'table',
      `${table} is in schema "${rows[0].table_schema}", which walbox uses for its own tables: capture a table of your own`,
    );
  }
  if (!rows[0]?.found) {
    throw new InvalidConfigError(
      'keyColumn',
      `table ${table} does not exist or has no column "${options.keyColumn}"`,
    );
  }
  await db.query(
    `create or replace trigger ${trigger} after insert or update or delete on ${qualified}
       for each row execute function ${q}.capture_trigger('${options.namespace}', '${options.keyColumn}')`,
  );
}

export async function uncaptureTable(sql: Sql, table: string) {
  const { db, schemaName: schema } = sql;
  await db.query(
    `drop trigger if exists ${quoteIdent('trigger', triggerName(schema))} on ${quoteQualified('table', table)}`,
  );
}

function triggerName(schema: string): string {
  return `walbox_capture_${schema}`.slice(0, 63);
}
