import { compareIds } from '@walbox/sink-kit';
import type { UniqueViolation } from './errors.js';
import type { KeyChange } from './key-change.js';

/** A key's record in one generation of an index: the version last applied and the values it holds. */
export interface StoredRecord {
  version: string;
  vals: string[];
}

/** Where a decision writes: every generation of each index (live), or one generation being rebuilt. */
export type DecideMode =
  | {
      kind: 'live';
      policy: 'fail' | 'report';
      gens: ReadonlyMap<string, { current: number; building: number | null }>;
    }
  | { kind: 'gen'; gen: number; ifAbsent: boolean };

export interface Decision {
  keyRows: Array<{
    namespace: string;
    index: string;
    gen: number;
    key: string;
    version: string;
    vals: string[];
  }>;
  removeValues: ValueRow[];
  addValues: ValueRow[];
  /** Claims of unique values other keys hold (live only); with policy 'fail' nothing is written then. */
  violations: UniqueViolation[];
  refused: boolean;
}

export interface ValueRow {
  namespace: string;
  index: string;
  gen: number;
  value: string;
  key: string;
}

/** The map key of (namespace, index), of a record (…, gen, key) and of a value's holders (…, gen, value). */
export const ix = (namespace: string, index: string) => `${namespace}\u0000${index}`;
export const slot = (namespace: string, index: string, gen: number, key: string) =>
  `${ix(namespace, index)}\u0000${gen}\u0000${key}`;

/**
 * Decides the writes of one source transaction's changes (one per key): for each index and generation, the
 * version guard (a change whose id is not above the record's writes nothing there), the values to take the key
 * from and to add it to, and the record. Live, the claims of unique values are checked in the current
 * generation against the state the whole transaction leaves (`holders`: the keys holding each value before
 * it, by slot(namespace, index, current, value)), so that two keys swapping a value in one transaction is no
 * violation. Under 'report' an entry delivered again reports what it holds that is still contested.
 */
export function decide(
  changes: readonly KeyChange[],
  records: ReadonlyMap<string, StoredRecord>,
  holders: ReadonlyMap<string, readonly string[]>,
  mode: DecideMode,
): Decision {
  const d: Decision = { keyRows: [], removeValues: [], addValues: [], violations: [], refused: false };
  const above = (id: string, rec: StoredRecord | undefined) => !rec || compareIds(id, rec.version) > 0;
  if (mode.kind === 'live') {
    // The holders of each value once the transaction is applied.
    const after = new Map<string, Set<string>>([...holders].map(([k, v]) => [k, new Set(v)]));
    const checks: Array<{ c: KeyChange; index: string; cur: number; values: string[] }> = [];
    for (const c of changes)
      for (const { index, values } of c.indexes) {
        if (!index.unique) continue;
        const cur = mode.gens.get(ix(c.namespace, index.name))?.current ?? 0;
        const rec = records.get(slot(c.namespace, index.name, cur, c.key));
        if (above(c.id, rec)) {
          const mine = `${ix(c.namespace, index.name)}\u0000${cur}\u0000`;
          for (const [k, set] of after) if (k.startsWith(mine)) set.delete(c.key);
          for (const v of values) {
            const k = slot(c.namespace, index.name, cur, v);
            after.set(k, (after.get(k) ?? new Set()).add(c.key));
          }
          const old = new Set(rec?.vals ?? []);
          checks.push({ c, index: index.name, cur, values: values.filter((v) => !old.has(v)) });
        } else if (rec?.version === c.id && mode.policy === 'report')
          checks.push({ c, index: index.name, cur, values: rec.vals });
      }
    const seen = new Set<string>();
    for (const { c, index, cur, values } of checks)
      for (const value of values) {
        const k = slot(c.namespace, index, cur, value);
        const keys = [...(after.get(k) ?? [])].sort();
        if (keys.length < 2 || seen.has(k)) continue;
        seen.add(k);
        d.violations.push({ namespace: c.namespace, index, value, keys, entryId: c.id });
      }
    if (d.violations.length > 0 && mode.policy === 'fail') return { ...d, refused: true };
  }
  for (const c of changes)
    for (const { index, values } of c.indexes) {
      const g = mode.kind === 'gen' ? undefined : mode.gens.get(ix(c.namespace, index.name));
      const gens =
        mode.kind === 'gen' ? [mode.gen] : [g?.current ?? 0, ...(g?.building != null ? [g.building] : [])];
      for (const gen of gens) {
        const rec = records.get(slot(c.namespace, index.name, gen, c.key));
        if (rec && mode.kind === 'gen' && mode.ifAbsent) continue;
        if (!above(c.id, rec)) continue;
        const old = new Set(rec?.vals ?? []);
        const now = new Set(values);
        const row = (value: string) => ({
          namespace: c.namespace,
          index: index.name,
          gen,
          value,
          key: c.key,
        });
        for (const v of old) if (!now.has(v)) d.removeValues.push(row(v));
        for (const v of now) if (!old.has(v)) d.addValues.push(row(v));
        d.keyRows.push({
          namespace: c.namespace,
          index: index.name,
          gen,
          key: c.key,
          version: c.id,
          vals: values,
        });
      }
    }
  return d;
}
