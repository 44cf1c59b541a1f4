import { sinkFunction as fn, type SinkAction, type SinkEntry } from '@walbox/sink-kit';
import { z } from 'zod';
import type { UniqueViolation } from './errors.js';
import type { IndexDefinition } from './index-definition.js';

/** A walbox namespace's name (what the index config is keyed by). */
export const NAMESPACE_NAME = /^[a-z][a-z0-9_.-]{0,62}$/;
/** An index name: no ':' or braces, so that it keeps the Redis key layout unambiguous. */
export const INDEX_NAME = /^[A-Za-z0-9_.-]{1,100}$/;

/** Called for each unique value claimed by a second key, once the change holding both is stored. */
export type ViolationHandler = (violation: UniqueViolation) => void | Promise<void>;

const definition = z
  .object({
    name: z.string().regex(INDEX_NAME, 'must be 1-100 letters, digits, _, . or -'),
    extract: fn<IndexDefinition['extract']>('(payload, entry) => value | value[] | undefined'),
    unique: z.boolean().optional(),
  })
  .strict();

/** The fields every index sink takes, whatever its store. */
export const indexSinkFields = {
  /** The target name the sink reports; defaults to 'index'. */
  name: z.string().min(1).max(200).default('index'),
  /** The indexes of each namespace; index names are unique across the sink. */
  indexes: z
    .record(
      z.string().regex(NAMESPACE_NAME, 'must be a walbox namespace name'),
      z.array(definition).min(1).max(100),
    )
    .superRefine((record, ctx) => {
      const seen = new Set<string>();
      for (const [ns, defs] of Object.entries(record))
        for (const [i, d] of defs.entries()) {
          if (seen.has(d.name))
            ctx.addIssue({
              code: 'custom',
              path: [ns, i, 'name'],
              message: `index ${d.name} is defined twice`,
            });
          seen.add(d.name);
        }
      if (seen.size === 0) ctx.addIssue({ code: 'custom', path: [], message: 'define at least one index' });
    }),
  /**
   * What a change claiming a unique value another key holds does: 'fail' (default) stores nothing of the change
   * and fails its entry with UniqueViolationError; a function stores the change (both keys hold the value) and
   * is called with the violation.
   */
  onUniqueViolation: z
    .union([z.literal('fail'), fn<ViolationHandler>('(violation) => void | Promise<void>')])
    .default('fail'),
  /** What to do with an entry; defaults to its op for 'upsert' and 'delete', and 'skip' for any other op. */
  actionFor: fn<(entry: SinkEntry) => SinkAction>("(entry) => 'upsert' | 'delete' | 'skip'").optional(),
};

/** The shared fields, resolved. */
export interface ResolvedIndexFields {
  name: string;
  indexes: Record<string, IndexDefinition[]>;
  onUniqueViolation: 'fail' | ViolationHandler;
  actionFor?: ((entry: SinkEntry) => SinkAction) | undefined;
}
