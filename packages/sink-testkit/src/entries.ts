import type { SinkContext, SinkEntry } from '@walbox/sink-kit';

/** A walbox entry as the dispatcher delivers it; its own source transaction unless `xid` says otherwise. */
export function entry(
  namespace: string,
  id: number | string,
  key: string,
  op: 'upsert' | 'delete' | (string & {}),
  payload: unknown = null,
  xid: string = String(id),
): Required<SinkEntry> {
  return {
    id: String(id),
    namespace,
    key,
    partition: 0,
    op,
    payload,
    before: null,
    headers: {},
    targets: ['conformance'],
    deliverAt: null,
    idempotencyKey: null,
    xid,
    createdAt: new Date(),
    actor: null,
  };
}

export function context(namespace: string, signal: AbortSignal = new AbortController().signal): SinkContext {
  return { namespace, target: 'conformance', partition: 0, signal };
}

/** The payload the last entry of `key` leaves, or undefined when it is a delete (or there is none). */
export function expected(
  entries: readonly Pick<SinkEntry, 'id' | 'key' | 'op' | 'payload'>[],
  key: string,
): unknown {
  const last = [...entries]
    .filter((e) => e.key === key)
    .sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1))
    .at(-1);
  return last?.op === 'upsert' ? last.payload : undefined;
}

/** Resolves once `cond` holds; throws naming `what` after `timeoutMs`. */
export async function until(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string) {
  const start = Date.now();
  while (!(await cond())) {
    if (Date.now() - start > timeoutMs)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
