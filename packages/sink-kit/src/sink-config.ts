import { z } from 'zod';

/** A sink config failed validation; `field` is the dotted path of the first bad field. */
export class SinkConfigError extends Error {
  readonly code = 'INVALID_CONFIG';
  constructor(
    readonly field: string,
    message: string,
    options?: { cause?: unknown; sink?: string },
  ) {
    super(`invalid ${options?.sink ? `${options.sink} ` : ''}sink config: ${field}: ${message}`, options);
    this.name = 'SinkConfigError';
  }
}

/** A SinkConfigError subclass, made with the field and the message (`class RedisSinkConfigError extends SinkConfigError`). */
export type SinkConfigErrorClass<E extends Error = SinkConfigError> = new (
  field: string,
  message: string,
  options?: { cause?: unknown },
) => E;

/**
 * Parses `input` with `schema` and returns the result frozen, or throws `ErrorClass` naming the first bad
 * field (an unknown key is named by itself, not by the object holding it).
 */
export function resolveSinkConfig<S extends z.ZodType, E extends Error>(
  schema: S,
  input: z.input<S>,
  ErrorClass: SinkConfigErrorClass<E>,
): Readonly<z.output<S>> {
  const result = schema.safeParse(input);
  if (result.success) return Object.freeze(result.data);
  const issue = result.error.issues[0]!;
  const path = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0]] : issue.path;
  throw new ErrorClass(path.map(String).join('.') || '(root)', issue.message, { cause: result.error });
}

/** A config field holding a function; `signature` goes into the message, e.g. '(entry) => string'. */
export function sinkFunction<F>(signature: string) {
  return z.custom<F>((v) => typeof v === 'function', { message: `must be a function ${signature}` });
}

/** A config field holding an object passed through unchecked (a client library's own options). */
export function sinkObject<T>() {
  return z.custom<T>((v) => typeof v === 'object' && v !== null, { message: 'must be an object' });
}

/** Whole seconds from 1 to `max` (an expiry). */
export function sinkSeconds(max: number) {
  return z.number().int().min(1).max(max);
}
