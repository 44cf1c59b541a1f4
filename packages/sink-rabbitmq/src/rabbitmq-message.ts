import type { SinkEntry } from '@walbox/sink-kit';

/** The AMQP headers every message carries (its `message_id` property is the entry id). */
export const HEADER = {
  namespace: 'walbox-namespace',
  key: 'walbox-key',
  op: 'walbox-op',
  entryId: 'walbox-entry-id',
  xid: 'walbox-xid',
} as const;

/** W3C trace context headers copied from an entry's headers when it has them. */
const TRACE_HEADERS = ['traceparent', 'tracestate'] as const;

const PLACEHOLDER = /\{(namespace|key|op)\}/g;

/** A function from entry to routing key, from a template such as `'{namespace}.{key}'`, or the function given. */
export function routingKeyFrom(
  template: string | ((entry: SinkEntry) => string),
): (entry: SinkEntry) => string {
  const render =
    typeof template === 'function'
      ? template
      : (e: SinkEntry) => template.replace(PLACEHOLDER, (_, name: 'namespace' | 'key' | 'op') => e[name]);
  return (e) => {
    const key = render(e);
    // AMQP 0-9-1 carries the routing key as a short string: at most 255 bytes.
    if (typeof key !== 'string' || Buffer.byteLength(key) > 255)
      throw new TypeError(`routing key of entry ${e.id} is not a string of at most 255 bytes`);
    return key;
  };
}

/** The message's headers: walbox's, and the trace context when the entry has one. */
export function messageHeaders(e: SinkEntry): Record<string, string> {
  const headers: Record<string, string> = {
    [HEADER.namespace]: e.namespace,
    [HEADER.key]: e.key,
    [HEADER.op]: e.op,
    [HEADER.entryId]: e.id,
  };
  if (e.xid !== undefined) headers[HEADER.xid] = e.xid;
  for (const name of TRACE_HEADERS) {
    const value = e.headers?.[name];
    if (typeof value === 'string' && value !== '') headers[name] = value;
  }
  return headers;
}

/** The default body: the payload as JSON (`null` for a delete without payload). */
export function jsonBody(e: SinkEntry): Buffer {
  return Buffer.from(JSON.stringify(e.payload ?? null));
}
