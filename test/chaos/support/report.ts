import { expect } from 'vitest';

/** One line of the chaos table. The columns from `lost` to `staleKeys` must be 0. */
export interface ScenarioRow {
  scenario: string;
  /** Entries the producers appended, committed or not. */
  appended: number;
  /** Entries in the log: committed. */
  committed: number;
  /** Distinct committed entries the `record` sink applied. */
  applied: number;
  /** Committed entries never applied. */
  lost: number;
  /** Entries applied that no committed transaction wrote (rolled back, or never committed). */
  rolledBackApplied: number;
  /** Keys whose entries the `record` sink first applied out of log order. */
  reorderedKeys: number;
  /** Times a store (Redis, memcached) was seen holding an older version of a key than before. */
  backwards: number;
  /** Keys whose final value in Redis or memcached is not the log's last entry (memcached may miss). */
  staleKeys: number;
  /** Applications beyond the first: at-least-once re-deliveries, absorbed by the version guards. */
  redelivered: number;
  /** The scenario's recovery figures, in words. */
  recovery: string;
}

const COLUMNS: Array<[keyof ScenarioRow, string]> = [
  ['scenario', 'scenario'],
  ['appended', 'appended'],
  ['committed', 'committed'],
  ['applied', 'applied'],
  ['lost', 'lost'],
  ['rolledBackApplied', 'rolled back applied'],
  ['reorderedKeys', 'reordered keys'],
  ['backwards', 'backwards'],
  ['staleKeys', 'stale keys'],
  ['redelivered', 'redelivered'],
  ['recovery', 'recovery'],
];

/** Prints the row as a small table, then asserts the figures that must be 0 (and that work was done). */
export function report(row: ScenarioRow): void {
  const cells = COLUMNS.map(([k]) => String(row[k]));
  const widths = COLUMNS.map(([, title], i) => Math.max(title.length, cells[i]!.length));
  const line = (values: string[]) => `| ${values.map((v, i) => v.padEnd(widths[i]!)).join(' | ')} |`;
  console.log(
    [
      line(COLUMNS.map(([, title]) => title)),
      `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
      line(cells),
    ].join('\n'),
  );
  expect(row.committed, 'the scenario committed entries').toBeGreaterThan(0);
  expect(row.applied).toBe(row.committed);
  expect({
    lost: row.lost,
    rolledBackApplied: row.rolledBackApplied,
    reorderedKeys: row.reorderedKeys,
    backwards: row.backwards,
    staleKeys: row.staleKeys,
  }).toEqual({ lost: 0, rolledBackApplied: 0, reorderedKeys: 0, backwards: 0, staleKeys: 0 });
}
