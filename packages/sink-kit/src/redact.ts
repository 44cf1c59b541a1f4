/**
 * Keeping passwords out of what a sink shows: its `util.inspect`, and the errors it throws (messages, stacks,
 * causes, and what drivers attach to them, such as ioredis's `command.args` of a failed AUTH or HELLO).
 */

/** `scheme://user:password@`: the password runs to the last `@` before the path (it may hold a raw `@`). */
const URL_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/[^:/?#@\s]*):[^/\s]*@/gi;
/** `password=...`, `pass=...`, `token=...` in keyword strings and URL queries. */
const KEYWORD_SECRET = /\b((?:ssl)?pass(?:word)?|token|secret)(\s*=\s*)('[^']*'|[^\s&]+)/gi;
const CENSOR = '***';

/**
 * `text` with the passwords of URLs (`redis://user:secret@host` → `redis://user:***@host`), `password=`
 * style keywords and each of `secrets` (the passwords a sink was configured with, as given and URL-decoded)
 * replaced by `***`.
 */
export function redactSecrets(text: string, secrets: readonly string[] = []): string {
  let out = text.replace(URL_PASSWORD, `$1:${CENSOR}@`).replace(KEYWORD_SECRET, `$1$2${CENSOR}`);
  for (const secret of secrets) if (secret.length > 0) out = out.split(secret).join(CENSOR);
  return out;
}

/** The password of a URL, as written and decoded (empty when it has none or does not parse). */
export function urlSecrets(url: string | undefined): string[] {
  if (!url) return [];
  try {
    const { password } = new URL(url);
    if (!password) return [];
    const decoded = decodeURIComponent(password);
    return decoded === password ? [password] : [password, decoded];
  } catch {
    return [];
  }
}

/** Driver commands whose arguments carry credentials (Redis AUTH, HELLO ... AUTH user password). */
const CREDENTIAL_COMMANDS = new Set(['auth', 'hello', 'migrate']);

/**
 * Removes secrets from an error in place, and from its cause chain (and AggregateError's `errors`): the
 * message, the stack, every string property, and the arguments of a failed credential command. Returns the
 * same error, so `throw redactError(err, secrets)` reads naturally. Non-errors pass through untouched.
 */
export function redactError<T>(err: T, secrets: readonly string[] = []): T {
  scrub(err, secrets, new Set(), 0);
  return err;
}

function scrub(value: unknown, secrets: readonly string[], seen: Set<object>, depth: number): void {
  if (typeof value !== 'object' || value === null || seen.has(value) || depth > 8) return;
  // Errors, arrays and plain records only: an error may point at a live client, whose options must stay.
  const proto = Object.getPrototypeOf(value);
  if (!(value instanceof Error) && !Array.isArray(value) && proto !== Object.prototype && proto !== null)
    return;
  seen.add(value);
  const record = value as Record<string, unknown>;
  const set = (key: string, v: unknown) => {
    try {
      record[key] = v;
    } catch {
      // a frozen or getter-only property: left as it is
    }
  };
  if (value instanceof Error) {
    set('message', redactSecrets(value.message, secrets));
    if (typeof value.stack === 'string') set('stack', redactSecrets(value.stack, secrets));
    scrub(value.cause, secrets, seen, depth + 1);
  }
  const name = typeof record.name === 'string' ? record.name.toLowerCase() : '';
  for (const key of Object.keys(value)) {
    const v = record[key];
    if (key === 'args' && Array.isArray(v) && CREDENTIAL_COMMANDS.has(name)) {
      set(
        key,
        v.map(() => CENSOR),
      );
    } else if (typeof v === 'string') {
      const r = redactSecrets(v, secrets);
      if (r !== v) set(key, r);
    } else if (Array.isArray(v)) {
      v.forEach((item, i) => {
        if (typeof item === 'string') v[i] = redactSecrets(item, secrets);
        else scrub(item, secrets, seen, depth + 1);
      });
    } else {
      scrub(v, secrets, seen, depth + 1);
    }
  }
}

/** The key Node's util.inspect looks for (Symbol.for, so the package needs no node:util import). */
export const INSPECT = Symbol.for('nodejs.util.inspect.custom');

/**
 * Makes `util.inspect(target)` (and console.log) show `Label { ...shown }` instead of the object's own
 * fields, where clients and configs keep connection strings and passwords. `shown` should hold only what
 * helps an operator (name, redacted URLs, hosts); it is inspected with the caller's options.
 */
export function inspectAs<T extends object>(target: T, label: string, shown: () => object): T {
  Object.defineProperty(target, INSPECT, {
    enumerable: false,
    value: (depth: number, options: object, inspect: (v: unknown, o: object) => string) =>
      `${label} ${inspect(shown(), { ...options, depth })}`,
  });
  return target;
}

/**
 * The usual wiring for a sink with credentials: `util.inspect(sink)` shows `label` and `shown()` only, and
 * every error `apply` throws or reports in `failed` has `secrets` (and URL passwords) removed.
 */
export function guardSecrets<S extends { apply(...args: never[]): Promise<unknown> }>(
  sink: S,
  label: string,
  secrets: readonly string[],
  shown: () => object,
): S {
  const apply = sink.apply.bind(sink) as (...args: unknown[]) => Promise<unknown>;
  const guarded = async (...args: unknown[]) => {
    try {
      const result = (await apply(...args)) as { failed?: Array<{ error: unknown }> } | undefined;
      for (const f of result?.failed ?? []) redactError(f.error, secrets);
      return result;
    } catch (err) {
      throw redactError(err, secrets);
    }
  };
  Object.defineProperty(sink, 'apply', {
    value: guarded,
    enumerable: true,
    configurable: true,
    writable: true,
  });
  return inspectAs(sink, label, shown);
}
