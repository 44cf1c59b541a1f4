import type { ValueRow } from './pg-index-decide.js';

/** The index tables' schema: lower case, so that it means the same quoted and unquoted. */
export const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * Keys and values are matched by their SHA-256, not by themselves: a btree entry holds at most about 2.7 kB,
 * which a walbox key (up to 1,024 characters) with a long value could pass.
 */
const H = (text: string) => `sha256(convert_to(${text}, 'UTF8'))`;

/**
 * The tables of every index, in the target database. A generation per index: lookups read `current`; a
 * rebuild fills `building`. index_keys holds each key's record (its values and the version last applied; a
 * delete leaves it with no values, a tombstone); index_values the reverse map that lookups read.
 */
export function createTablesSql(s: string): string[] {
  return [
    `create schema if not exists "${s}"`,
    `create table if not exists "${s}".generations (
       namespace text not null, index_name text not null,
       current integer not null default 0, building integer, next integer not null default 0,
       primary key (namespace, index_name))`,
    `create table if not exists "${s}".index_keys (
       namespace text not null, index_name text not null, gen integer not null,
       key_hash bytea not null, key text not null, version bigint not null, vals text[] not null,
       primary key (namespace, index_name, gen, key_hash))`,
    `create table if not exists "${s}".index_values (
       namespace text not null, index_name text not null, gen integer not null,
       value_hash bytea not null, key_hash bytea not null, value text not null, key text not null,
       primary key (namespace, index_name, gen, value_hash, key_hash))`,
  ];
}

export const insertGenerationsSql = (s: string) =>
  `insert into "${s}".generations (namespace, index_name)
   select * from unnest($1::text[], $2::text[]) on conflict do nothing`;

/**
 * Transaction-level advisory locks on $1 (texts naming a key or a claimed unique value), taken in one order
 * by every writer so that none waits for another in a cycle; the two-int form keeps them apart from walbox's
 * own (bigint) locks should the index tables live in the log's database.
 */
export const lockSql = `select pg_advisory_xact_lock(hashtext('walbox-sink-index'), h)
  from (select distinct hashtext(t) as h from unnest($1::text[]) t order by 1 offset 0) ordered`;

/**
 * The generations of (namespace, index) pairs $1, $2, locked FOR SHARE until the transaction ends: a rebuild's
 * swap (an UPDATE) waits for the writes that read the generations before it, so none lands in a generation
 * about to be removed.
 */
export const generationsSql = (s: string) =>
  `select namespace, index_name, current, building from "${s}".generations
    where (namespace, index_name) in (select * from unnest($1::text[], $2::text[]))
    order by namespace, index_name for share`;

/** The records of ($1 namespace, $2 index, $3 gen, $4 key) tuples; `i` is the tuple's position from 1. */
export const recordsSql = (s: string) =>
  `select u.i::int, k.version::text as version, k.vals
     from unnest($1::text[], $2::text[], $3::int[], $4::text[]) with ordinality u(ns, ix, gen, key, i)
     join "${s}".index_keys k on k.namespace = u.ns and k.index_name = u.ix and k.gen = u.gen
      and k.key_hash = ${H('u.key')}`;

/** The keys holding each of ($1 namespace, $2 index, $3 gen, $4 value); `i` as in recordsSql. */
export const holdersSql = (s: string) =>
  `select u.i::int, v.key
     from unnest($1::text[], $2::text[], $3::int[], $4::text[]) with ordinality u(ns, ix, gen, value, i)
     join "${s}".index_values v on v.namespace = u.ns and v.index_name = u.ix and v.gen = u.gen
      and v.value_hash = ${H('u.value')}`;

/**
 * A decision's writes in one statement: $1-$5 the value rows to remove, $6-$10 those to add (namespace, index,
 * gen, value, key), $11-$16 the records (namespace, index, gen, key, version, values as a JSON array), whose
 * version guard is repeated as a safeguard. The parts touch different rows (a key leaves and joins different
 * values), which data-modifying CTEs need, as they all see the statement's one snapshot.
 */
export const writeSql = (s: string) =>
  `with removed as (
     delete from "${s}".index_values v
      using unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::text[]) u(ns, ix, gen, value, key)
      where v.namespace = u.ns and v.index_name = u.ix and v.gen = u.gen
        and v.value_hash = ${H('u.value')} and v.key_hash = ${H('u.key')}),
   added as (
     insert into "${s}".index_values (namespace, index_name, gen, value_hash, key_hash, value, key)
     select u.ns, u.ix, u.gen, ${H('u.value')}, ${H('u.key')}, u.value, u.key
       from unnest($6::text[], $7::text[], $8::int[], $9::text[], $10::text[]) u(ns, ix, gen, value, key)
     on conflict do nothing)
   insert into "${s}".index_keys as k (namespace, index_name, gen, key_hash, key, version, vals)
   select u.ns, u.ix, u.gen, ${H('u.key')}, u.key, u.version, array(select jsonb_array_elements_text(u.vals))
     from unnest($11::text[], $12::text[], $13::int[], $14::text[], $15::bigint[], $16::jsonb[])
          u(ns, ix, gen, key, version, vals)
   on conflict (namespace, index_name, gen, key_hash) do update
      set version = excluded.version, vals = excluded.vals
    where k.version < excluded.version`;

/** The five columns of value rows, as writeSql takes them. */
export const valueColumns = (rows: readonly ValueRow[]) => [
  rows.map((r) => r.namespace),
  rows.map((r) => r.index),
  rows.map((r) => r.gen),
  rows.map((r) => r.value),
  rows.map((r) => r.key),
];

export const lookupSql = (s: string) =>
  `select v.key from "${s}".index_values v
     join "${s}".generations g on g.namespace = v.namespace and g.index_name = v.index_name and g.current = v.gen
    where v.namespace = $1 and v.index_name = $2 and v.value_hash = ${H('$3::text')}
    order by v.key`;

export const violationsSql = (s: string) =>
  `select v.value, array_agg(v.key order by v.key) as keys from "${s}".index_values v
     join "${s}".generations g on g.namespace = v.namespace and g.index_name = v.index_name and g.current = v.gen
    where v.namespace = $1 and v.index_name = $2
    group by v.value_hash, v.value having count(*) > 1 order by v.value`;

export const dropGenerationSql = (s: string) => [
  `delete from "${s}".index_values where namespace = $1 and index_name = $2 and gen = $3`,
  `delete from "${s}".index_keys where namespace = $1 and index_name = $2 and gen = $3`,
];
