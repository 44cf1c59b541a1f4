import type { BatchResult, SinkContext, SinkEntry } from '@walbox/sink-kit';
import { type UniqueViolation, UniqueViolationError } from './errors.js';
import { type IndexSet, type IndexValue, valueText } from './index-definition.js';
import type { ResolvedIndexFields } from './index-sink-config.js';
import type { IndexStore } from './index-store.js';
import { type RebuildOptions, type RebuildResult, type RebuildSource, rebuild } from './rebuild.js';

/** Structurally a walbox `Sink`, with the index's read side. */
export interface IndexSink {
  readonly name: string;
  apply(batch: readonly SinkEntry[], ctx?: Partial<SinkContext>): Promise<void | BatchResult>;
  /** The keys holding `value` in `index`, sorted; [] when none. */
  lookup(index: string, value: IndexValue): Promise<string[]>;
  /** The key holding `value` in a unique index; throws UniqueViolationError when several keys hold it. */
  lookupOne(index: string, value: IndexValue): Promise<string | undefined>;
  /** The values of a unique index held by more than one key (kept under an onUniqueViolation function). */
  violations(index: string): Promise<UniqueViolation[]>;
  /** Rebuilds `index` from the log or a snapshot into a fresh generation, then swaps it in. See README. */
  rebuild(index: string, source: RebuildSource, options?: RebuildOptions): Promise<RebuildResult>;
  /** The generation lookups read, and the one a rebuild is building. */
  generations(index: string): Promise<{ current: number; building: number | undefined }>;
  close(): Promise<void>;
}

/** The sink over a store: reports stored violations to the handler, and adds lookups and rebuilds. */
export function indexSink(config: ResolvedIndexFields, indexes: IndexSet, store: IndexStore): IndexSink {
  let closed = false;
  const handler = config.onUniqueViolation === 'fail' ? undefined : config.onUniqueViolation;
  const lookup = async (name: string, value: IndexValue) => {
    const index = indexes.get(name);
    return store.lookup(index, valueText(name, value));
  };
  return {
    name: config.name,
    async apply(batch, ctx) {
      if (closed) throw new Error(`index sink "${config.name}" is closed`);
      const { failed, violations } = await store.apply(batch, ctx?.signal);
      // After the store holds the change: a throw fails the batch, whose redelivery reports the violation again.
      if (handler) for (const v of violations) await handler(v);
      return failed.length > 0 ? { failed } : undefined;
    },
    lookup,
    async lookupOne(name, value) {
      const index = indexes.get(name);
      if (!index.unique) throw new TypeError(`index ${name} is not unique: use lookup`);
      const keys = await lookup(name, value);
      if (keys.length > 1)
        throw new UniqueViolationError({
          namespace: index.namespace,
          index: name,
          value: valueText(name, value),
          keys,
          entryId: undefined,
        });
      return keys[0];
    },
    async violations(name) {
      const index = indexes.get(name);
      return index.unique ? store.violations(index) : [];
    },
    async rebuild(name, source, options) {
      const result = await rebuild(store, indexes.get(name), source, config.actionFor, options);
      if (handler) for (const v of result.violations) await handler(v);
      return result;
    },
    generations: (name) => store.generations(indexes.get(name)),
    async close() {
      if (closed) return;
      closed = true;
      await store.close();
    },
  };
}
