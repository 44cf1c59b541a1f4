import { bossInstallSql, bossSchema } from './dispatch/drain-queue.js';
import { InvalidNameError } from './errors.js';
import type { Queryable } from './executor.js';
import { assertIdentifier, quoteIdent } from './names.js';

/** The three roles of a walbox schema (NOLOGIN: grant them to the login roles that need them). */
export interface WalboxRoles {
  /** May append, through walbox's functions only: no table of the schema is readable or writable. */
  producer: string;
  /** Runs dispatchers: reads the log, writes cursors, parked entries and dead letters, runs maintenance. */
  dispatcher: string;
  /** Reads the audit view (with its delivery column) and nothing else. */
  auditor: string;
}

/** The role names for a schema: `<prefix>_producer`, `<prefix>_dispatcher`, `<prefix>_auditor`. */
export function roleNames(schema: string, prefix = schema.slice(0, 40)): WalboxRoles {
  assertIdentifier('role prefix', prefix);
  if (prefix.length > 40) {
    throw new InvalidNameError('role prefix', prefix, 'at most 40 characters, so that "_dispatcher" fits');
  }
  return {
    producer: `${prefix}_producer`,
    dispatcher: `${prefix}_dispatcher`,
    auditor: `${prefix}_auditor`,
  };
}

/**
 * The statements that create the roles (when missing) and grant them their rights in `schema`. Run them as
 * the schema's owner, after migrate() (they name walbox's functions); running them again is harmless, and
 * needed after an upgrade that adds tables. Printed by `walbox roles`, run by `walbox roles --apply`. The
 * dispatcher's grants in pg-boss's schema cover the tables that exist: install pg-boss first (`--apply`
 * does; so does starting one dispatcher as the owner).
 */
export function roleStatements(schema: string, roles: WalboxRoles = roleNames(schema)): string[] {
  const s = quoteIdent('schema', schema);
  const boss = quoteIdent('schema', bossSchema(schema));
  const [producer, dispatcher, auditor] = [roles.producer, roles.dispatcher, roles.auditor].map((r) =>
    quoteIdent('role', r),
  );
  const create = (role: string) =>
    `do $$ begin create role ${role} nologin; exception when duplicate_object then null; end $$`;
  return [
    create(producer!),
    create(dispatcher!),
    create(auditor!),
    // Producer: the append and job functions run with their owner's rights (security definer), so EXECUTE
    // on them is all it needs; namespace_config lets the SDK check an entry before sending it.
    `grant usage on schema ${s} to ${producer}`,
    `grant execute on function ${s}.append(text, text, text, jsonb, jsonb, jsonb, text[], interval, timestamptz, text, text),
       ${s}.append_one(json, boolean), ${s}.append_json(json, boolean), ${s}.namespace_config(text),
       ${s}.jobs_schedule(text, json), ${s}.jobs_reschedule(text, bigint, timestamptz), ${s}.jobs_cancel(text, bigint)
       to ${producer}`,
    // Dispatcher: reads everything, writes its own state, runs every function (maintenance functions that
    // create or drop partitions run with the owner's rights); pg-boss keeps its queues in the schema beside.
    `grant usage on schema ${s} to ${dispatcher}`,
    `grant select on all tables in schema ${s} to ${dispatcher}`,
    `grant insert, update, delete on ${s}.cursors, ${s}.parked, ${s}.dead_letters to ${dispatcher}`,
    // The job sink claims a job and records its outcome by updating its row.
    `grant update on ${s}.jobs to ${dispatcher}`,
    `grant usage on all sequences in schema ${s} to ${dispatcher}`,
    `grant execute on all functions in schema ${s} to ${dispatcher}`,
    // pg-boss creates a table per queue as a partition of its job table, which only the job table's owner
    // may do: the dispatcher role owns pg-boss's schema and objects, and the connecting role (the walbox
    // schema's owner) becomes a member of it, so that its own dispatchers keep working.
    `grant ${dispatcher} to current_user`,
    `create schema if not exists ${boss}`,
    `do $$
     declare o record;
     begin
       execute format('alter schema %I owner to %I', '${bossSchema(schema)}', '${roles.dispatcher}');
       for o in select c.oid::regclass as name, c.relkind from pg_class c
                 where c.relnamespace = '${boss}'::regnamespace and c.relkind in ('r', 'p', 'S', 'v')
                   and not c.relispartition
       loop
         execute format('alter %s %s owner to %I', case o.relkind when 'S' then 'sequence' when 'v' then 'view'
                        else 'table' end, o.name, '${roles.dispatcher}');
       end loop;
       for o in select p.oid::regprocedure as name from pg_proc p where p.pronamespace = '${boss}'::regnamespace
       loop
         execute format('alter function %s owner to %I', o.name, '${roles.dispatcher}');
       end loop;
       for o in select t.oid::regtype as name from pg_type t
                 where t.typnamespace = '${boss}'::regnamespace and t.typtype = 'e'
       loop
         execute format('alter type %s owner to %I', o.name, '${roles.dispatcher}');
       end loop;
     end $$`,
    // Auditor: the audit view reads the log with its owner's rights; the delivery column calls
    // delivery_status, which a view's user must be allowed to execute (CREATE VIEW: functions in a view are
    // called as by the query that uses it).
    `grant usage on schema ${s} to ${auditor}`,
    `grant select on ${s}.audit to ${auditor}`,
    `grant execute on function ${s}.delivery_status(bigint, text, int, xid8, text[]) to ${auditor}`,
  ];
}

/**
 * Creates the roles and grants their rights, in one transaction on `db`: one connection, not a pool. First it
 * installs pg-boss beside walbox's schema when missing: pg-boss would otherwise install itself on the first
 * dispatcher's start, which needs CREATE on the database (CREATE SCHEMA IF NOT EXISTS checks it even when
 * the schema exists), a right the dispatcher role does not have.
 */
export async function applyRoles(db: Queryable, schema: string, roles: WalboxRoles): Promise<void> {
  const { rows } = await db.query<{ installed: boolean }>(`select to_regclass($1) is not null as installed`, [
    `${quoteIdent('schema', bossSchema(schema))}.version`,
  ]);
  if (!rows[0]?.installed) await db.query(bossInstallSql(schema));
  await db.query('begin');
  try {
    for (const statement of roleStatements(schema, roles)) await db.query(statement);
    await db.query('commit');
  } catch (err) {
    await db.query('rollback').catch(() => {});
    throw err;
  }
}
