import type { z } from 'zod';
import type { AppendedEntry, EntryInput } from './entry.js';
import { InvalidEntryError } from './errors.js';
import type { Executor } from './executor.js';

type AppendMany = (executor: Executor, entries: readonly EntryInput[]) => Promise<AppendedEntry[]>;

type TypedBase = Omit<EntryInput, 'namespace' | 'payload'>;

/** An entry of a typed namespace: a payload of the schema's input type, or a delete without payload. */
export type TypedEntryInput<S extends z.ZodType> =
  | (TypedBase & { payload: z.input<S> })
  | (TypedBase & { op: 'delete'; payload?: null });

/**
 * A namespace bound to a payload schema: producers get a compile-time check of the payload type and a
 * run-time check against the schema, so they cannot write what consumers do not expect.
 * Deletes may carry a null payload.
 */
export class TypedNamespace<S extends z.ZodType> {
  constructor(
    readonly name: string,
    readonly payloadSchema: S,
    private readonly appendMany_: AppendMany,
  ) {}

  async append(executor: Executor, entry: TypedEntryInput<S>): Promise<AppendedEntry<z.output<S>>> {
    const [stored] = await this.appendMany_(executor, [this.#check(entry)]);
    return stored as AppendedEntry<z.output<S>>;
  }

  async appendMany(
    executor: Executor,
    entries: readonly TypedEntryInput<S>[],
  ): Promise<AppendedEntry<z.output<S>>[]> {
    const checked = entries.map((e, i) => this.#check(e, entries.length === 1 ? undefined : i));
    return (await this.appendMany_(executor, checked)) as AppendedEntry<z.output<S>>[];
  }

  #check(entry: TypedEntryInput<S>, index?: number): EntryInput {
    if (entry.op === 'delete' && (entry.payload === null || entry.payload === undefined)) {
      return { ...entry, namespace: this.name, payload: null };
    }
    const result = this.payloadSchema.safeParse(entry.payload);
    if (!result.success) {
      const issue = result.error.issues[0]!;
      const path = ['payload', ...issue.path.map(String)].join('.');
      throw new InvalidEntryError(
        'PAYLOAD_SCHEMA_MISMATCH',
        path,
        `${issue.message} (namespace "${this.name}")`,
        index,
        { cause: result.error },
      );
    }
    return { ...entry, namespace: this.name, payload: result.data };
  }
}
