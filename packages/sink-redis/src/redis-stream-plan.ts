import { type FailedEntry, isEntryId, type SinkEntry } from '@walbox/sink-kit';

/** One run of the stream guard: a stream's entries of a batch, in log order. */
export interface StreamCall {
  stream: string;
  guard: string;
  entries: SinkEntry[];
  /** The script's ARGV after the MAXLEN arguments: count, then guard field, id, field count, fields. */
  argv: Array<string | Buffer>;
}

/** The guard hash's field of an entry's key. */
export const guardField = (e: SinkEntry) => `${e.namespace}\u0000${e.key}`;

export interface StreamPlan {
  calls: StreamCall[];
  /** Entries the sink cannot turn into a message (a bad id, a stream or fields function that threw). */
  failed: FailedEntry[];
}

export interface StreamPlanOptions {
  streamOf: (e: SinkEntry) => string;
  guardSuffix: string;
  fieldsOf: (e: SinkEntry) => Record<string, string | Buffer>;
}

/**
 * Groups a batch into one guard call per stream, each with its entries in log order (so a stream per
 * namespace shows each batch in log order, not only each key). An entry that cannot be planned fails with
 * every later entry of its key (none of them may be added before it); the key's earlier entries still go.
 */
export function planStreamCalls(batch: readonly SinkEntry[], options: StreamPlanOptions): StreamPlan {
  const calls = new Map<string, StreamCall>();
  const streamOfKey = new Map<string, string>();
  const broken = new Map<string, string>();
  const failed: FailedEntry[] = [];
  for (const e of batch) {
    const k = guardField(e);
    const failedBefore = broken.get(k);
    if (failedBefore !== undefined) {
      failed.push({
        id: e.id,
        error: new Error(`not added: entry ${failedBefore} of its key failed before it`),
      });
      continue;
    }
    try {
      if (!isEntryId(e.id))
        throw new TypeError(`entry id ${JSON.stringify(e.id)} is not a bigint in decimal`);
      const stream = options.streamOf(e);
      if (typeof stream !== 'string' || stream === '')
        throw new TypeError(`no stream name for entry ${e.id}`);
      const fields = Object.entries(options.fieldsOf(e));
      const before = streamOfKey.get(k);
      if (before !== undefined && before !== stream)
        throw new TypeError(`entry ${e.id} goes to stream ${stream}, earlier ones of its key to ${before}`);
      streamOfKey.set(k, stream);
      let call = calls.get(stream);
      if (!call) {
        call = { stream, guard: `${stream}${options.guardSuffix}`, entries: [], argv: [] };
        calls.set(stream, call);
      }
      call.entries.push(e);
      call.argv.push(k, e.id, String(fields.length), ...fields.flat());
    } catch (error) {
      failed.push({ id: e.id, error });
      broken.set(k, e.id);
    }
  }
  for (const call of calls.values()) call.argv.unshift(String(call.entries.length));
  return { calls: [...calls.values()], failed };
}

const PLACEHOLDER = /\{(namespace|key)\}/g;

/** The stream of an entry, from a template with {namespace} and {key}, or the function given. */
export function streamFrom(
  template: string | ((entry: Pick<SinkEntry, 'namespace' | 'key'>) => string),
): (e: SinkEntry) => string {
  if (typeof template === 'function') return (e) => template({ namespace: e.namespace, key: e.key });
  return (e) => template.replace(PLACEHOLDER, (_, name: 'namespace' | 'key') => e[name]);
}

/** The default message fields: id, namespace, key, op, xid, payload as JSON, headers as JSON when any. */
export function defaultFields(e: SinkEntry): Record<string, string> {
  const fields: Record<string, string> = { id: e.id, namespace: e.namespace, key: e.key, op: e.op };
  if (e.xid !== undefined) fields.xid = e.xid;
  fields.payload = JSON.stringify(e.payload ?? null);
  if (e.headers && Object.keys(e.headers).length > 0) fields.headers = JSON.stringify(e.headers);
  return fields;
}
