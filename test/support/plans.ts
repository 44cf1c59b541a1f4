import type pg from 'pg';
import { type Sql, sqlContext } from '../../src/sql/context.js';

/** The fields of an EXPLAIN (format json) plan node the plan tests look at. */
export interface PlanNode {
  'Node Type': string;
  'Index Name'?: string;
  'Rows Removed by Filter'?: number;
  'Rows Removed by Index Recheck'?: number;
  'Shared Hit Blocks'?: number;
  'Shared Read Blocks'?: number;
  Plans?: PlanNode[];
}

/** Every node of the plan an `explain (format json)` query returned, the top one first. */
export function planNodes(rows: readonly unknown[]): PlanNode[] {
  const flat = (n: PlanNode): PlanNode[] => [n, ...(n.Plans ?? []).flatMap(flat)];
  return flat((rows[0] as { 'QUERY PLAN': [{ Plan: PlanNode }] })['QUERY PLAN'][0].Plan);
}

/** An Sql context on `pool` that keeps the text and values of the last statement it ran, to EXPLAIN it. */
export function recordingSql(
  pool: pg.Pool,
  schema: string,
): { sql: Sql; last: { text: string; values: unknown[] } } {
  const last = { text: '', values: [] as unknown[] };
  const db = {
    query: (text: string, values: unknown[]) => {
      last.text = text;
      last.values = values;
      return pool.query(text, values);
    },
  };
  return { sql: sqlContext(db as never, schema), last };
}
