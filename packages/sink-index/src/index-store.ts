import type { FailedEntry, SinkEntry } from '@walbox/sink-kit';
import type { UniqueViolation } from './errors.js';
import type { ResolvedIndex } from './index-definition.js';
import type { KeyChange } from './key-change.js';

/** What a live apply did: the entries that failed, and the violations stored under a reporting policy. */
export interface StoreApplyResult {
  failed: FailedEntry[];
  violations: UniqueViolation[];
}

/**
 * What the index sink needs of a store. Each index has generations: lookups read the current one; a rebuild
 * fills a new one (written by live applies too while it is building), then makes it current.
 */
export interface IndexStore {
  /** Applies a batch to every generation of each index (see each store for its unit of atomicity). */
  apply(batch: readonly SinkEntry[], signal: AbortSignal | undefined): Promise<StoreApplyResult>;
  /** The keys holding `value` in the current generation, sorted. */
  lookup(index: ResolvedIndex, value: string): Promise<string[]>;
  /** The values of a unique index held by more than one key, in the current generation. */
  violations(index: ResolvedIndex): Promise<UniqueViolation[]>;
  /** Marks a new generation as building; `force` takes over one another rebuild left building. */
  beginGeneration(
    index: ResolvedIndex,
    force: boolean,
  ): Promise<{ gen: number; replaced: number | undefined }>;
  /**
   * Writes changes of `index` into generation `gen` only, version-guarded, without unique checks; with
   * `ifAbsent`, only for keys that have no record there. Throws RebuildError once `gen` is no longer building.
   */
  writeGeneration(
    index: ResolvedIndex,
    gen: number,
    changes: readonly KeyChange[],
    ifAbsent: boolean,
  ): Promise<void>;
  /** Makes building generation `gen` current; returns the generation it replaces. */
  finishGeneration(index: ResolvedIndex, gen: number): Promise<number>;
  /** Stops building `gen` if it still is. */
  abandonGeneration(index: ResolvedIndex, gen: number): Promise<void>;
  /** Removes what a generation that is neither current nor building holds. */
  dropGeneration(index: ResolvedIndex, gen: number): Promise<void>;
  /** The current and the building generation. */
  generations(index: ResolvedIndex): Promise<{ current: number; building: number | undefined }>;
  close(): Promise<void>;
}
