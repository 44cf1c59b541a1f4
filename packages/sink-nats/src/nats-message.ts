import type { SinkEntry } from '@walbox/sink-kit';

/** The headers every message carries (beside `Nats-Msg-Id`, the entry id, which JetStream dedupes on). */
export const HEADER = {
  namespace: 'Walbox-Namespace',
  key: 'Walbox-Key',
  op: 'Walbox-Op',
  entryId: 'Walbox-Entry-Id',
  xid: 'Walbox-Xid',
} as const;

/** W3C trace context headers copied from an entry's headers when it has them. */
const TRACE_HEADERS = ['traceparent', 'tracestate'] as const;

/** The placeholders a subject template may hold. */
const PLACEHOLDER = /\{(namespace|key|op)\}/g;

/**
 * A function from entry to subject, from a template such as `'walbox.{namespace}.{key}'`. A key may hold
 * dots (they make more subject tokens); characters a subject cannot hold fail the entry, not the batch.
 */
export function subjectFrom(template: string | ((entry: SinkEntry) => string)): (entry: SinkEntry) => string {
  const render =
    typeof template === 'function'
      ? template
      : (e: SinkEntry) => template.replace(PLACEHOLDER, (_, name: 'namespace' | 'key' | 'op') => e[name]);
  return (e) => {
    const subject = render(e);
    checkSubject(subject);
    return subject;
  };
}

/** Throws unless `subject` is a publishable NATS subject: dot-separated non-empty tokens, no wildcard or space. */
export function checkSubject(subject: string): void {
  if (typeof subject !== 'string' || subject.length === 0) throw new TypeError('subject is empty');
  for (const token of subject.split('.')) {
    if (token === '' || token === '*' || token === '>' || /\s/.test(token) || token.includes('\0'))
      throw new TypeError(`subject ${JSON.stringify(subject)} is not a valid NATS subject to publish to`);
  }
}

/** The header values of an entry's message, in order; undefined values are left out. */
export function headerValues(e: SinkEntry): Array<[string, string]> {
  const values: Array<[string, string]> = [
    [HEADER.namespace, e.namespace],
    [HEADER.key, e.key],
    [HEADER.op, e.op],
    [HEADER.entryId, e.id],
  ];
  if (e.xid !== undefined) values.push([HEADER.xid, e.xid]);
  for (const name of TRACE_HEADERS) {
    const value = e.headers?.[name];
    if (typeof value === 'string' && value !== '') values.push([name, value]);
  }
  // A header value cannot hold a line break (it would end the header); keys are free text.
  for (const [name, value] of values)
    if (/[\r\n]/.test(value)) throw new TypeError(`header ${name} would hold a line break`);
  return values;
}

/** The default body: the payload as JSON (`null` for a delete without payload). */
export function jsonBody(e: SinkEntry): string {
  return JSON.stringify(e.payload ?? null);
}
