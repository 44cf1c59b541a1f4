import { SCHEMA_NAME, TABLE_NAME } from './postgres-sink-config.js';

/** The schema and table of a namespace's replica, validated and double-quoted. */
export interface ReplicaTable {
  schema: string;
  table: string;
  /** "schema"."table" */
  qualified: string;
}

export function replicaTable(schema: string, table: string): ReplicaTable {
  if (!SCHEMA_NAME.test(schema))
    throw new TypeError(`replica schema ${JSON.stringify(schema)} is not a valid name`);
  if (!TABLE_NAME.test(table))
    throw new TypeError(
      `replica table ${JSON.stringify(table)}: use 1-63 lower-case letters, digits, _, . or -`,
    );
  return { schema, table, qualified: `"${schema}"."${table}"` };
}

/**
 * One row per key. A delete keeps its row with `deleted` and its version (a tombstone): an older upsert
 * delivered later is refused by the version comparison instead of bringing the row back.
 */
export function createTableSql(t: ReplicaTable): string[] {
  return [
    `create schema if not exists "${t.schema}"`,
    `create table if not exists ${t.qualified} (
       key text primary key,
       payload jsonb,
       version bigint not null,
       deleted boolean not null default false,
       updated_at timestamptz not null default now())`,
  ];
}

/**
 * Writes the rows of $1..$4 (keys, payloads as JSON text, versions, deleted flags; one per key) unless the
 * stored version is as new or newer. `on conflict do update ... where` leaves a row it does not update as it
 * is, and reads the committed row under the row lock, so two sinks writing one key end with the newer entry.
 */
export function upsertSql(t: ReplicaTable): string {
  return `insert into ${t.qualified} as r (key, payload, version, deleted)
          select u.key, u.payload, u.version, u.deleted
            from unnest($1::text[], $2::jsonb[], $3::bigint[], $4::boolean[]) as u(key, payload, version, deleted)
          on conflict (key) do update
             set payload = excluded.payload, version = excluded.version, deleted = excluded.deleted,
                 updated_at = now()
           where r.version < excluded.version`;
}

export function readSql(t: ReplicaTable): string {
  return `select payload, version::text as version, deleted from ${t.qualified} where key = $1`;
}
