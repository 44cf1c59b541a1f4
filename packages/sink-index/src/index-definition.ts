import type { SinkEntry } from '@walbox/sink-kit';
import { IndexExtractError, UnknownIndexError } from './errors.js';

/** What extract may return for one value; numbers, booleans and bigints are indexed as their text. */
export type IndexValue = string | number | boolean | bigint;

/** One secondary index over the payloads of a namespace. */
// biome-ignore lint/suspicious/noExplicitAny: a payload is whatever the namespace's producers append
export interface IndexDefinition<P = any> {
  /** Unique within the sink: lookups name the index only. 1-100 letters, digits, _, . or -. */
  name: string;
  /**
   * The values an upserted payload is indexed under: one, several (an array), or none (undefined, null or
   * []). Called on the last entry of a key in a batch; a throw fails that entry.
   */
  extract(payload: P, entry: SinkEntry<P>): IndexValue | readonly IndexValue[] | null | undefined;
  /** At most one key per value; see onUniqueViolation. */
  unique?: boolean;
}

/** An index as the stores use it. */
export interface ResolvedIndex {
  namespace: string;
  name: string;
  unique: boolean;
  extract: IndexDefinition['extract'];
}

/** The longest value, in UTF-16 code units, an index takes; a longer one fails its entry. */
export const MAX_VALUE_LENGTH = 1000;

/** The index definitions of a sink, by namespace and by name. */
export interface IndexSet {
  byNamespace: ReadonlyMap<string, readonly ResolvedIndex[]>;
  /** Throws UnknownIndexError for a name the config does not define. */
  get(name: string): ResolvedIndex;
  all(): readonly ResolvedIndex[];
}

export function indexSet(config: Readonly<Record<string, readonly IndexDefinition[]>>): IndexSet {
  const byNamespace = new Map<string, ResolvedIndex[]>();
  const byName = new Map<string, ResolvedIndex>();
  for (const [namespace, defs] of Object.entries(config)) {
    const list = defs.map((d) => ({
      namespace,
      name: d.name,
      unique: d.unique === true,
      extract: d.extract,
    }));
    byNamespace.set(namespace, list);
    for (const i of list) byName.set(i.name, i);
  }
  return {
    byNamespace,
    get(name) {
      const index = byName.get(name);
      if (!index) throw new UnknownIndexError(name);
      return index;
    },
    all: () => [...byName.values()],
  };
}

/** The text of one value, or an IndexExtractError naming what is wrong with it. */
export function valueText(index: string, v: unknown): string {
  let text: string;
  if (typeof v === 'string') text = v;
  else if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new IndexExtractError(index, `${v} is not an index value`);
    text = String(v);
  } else if (typeof v === 'boolean' || typeof v === 'bigint') text = String(v);
  else
    throw new IndexExtractError(
      index,
      `a ${typeof v} is not an index value (string, number, boolean, bigint)`,
    );
  // Postgres text cannot hold \u0000; refused in both stores so that they index the same values.
  if (text.includes('\u0000')) throw new IndexExtractError(index, 'a value may not contain \\u0000');
  if (text.length > MAX_VALUE_LENGTH)
    throw new IndexExtractError(index, `a value is longer than ${MAX_VALUE_LENGTH} characters`);
  return text;
}

/** The distinct values of `payload` under `index`, sorted; extract's throw becomes an IndexExtractError. */
export function valuesOf(index: ResolvedIndex, entry: SinkEntry): string[] {
  let raw: unknown;
  try {
    raw = index.extract(entry.payload, entry);
  } catch (error) {
    throw new IndexExtractError(index.name, 'extract threw', { cause: error });
  }
  if (raw === undefined || raw === null) return [];
  const list = Array.isArray(raw) ? raw : [raw];
  return [...new Set(list.map((v) => valueText(index.name, v)))].sort();
}
