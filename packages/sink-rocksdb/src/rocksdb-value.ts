import { ENTRY_ID } from '@walbox/sink-kit';

/** A stored value decoded: the id of the entry that wrote it, and its value unless a delete wrote it. */
export type RocksdbItem =
  | { version: string; deleted: false; value: unknown }
  | { version: string; deleted: true; value: undefined };

/**
 * What the sink stores: `{"v":"<id>","d":<value>}` for an upsert, `{"v":"<id>","deleted":true}` (a tombstone)
 * for a delete. Undefined for anything else.
 */
export function decodeRocksdbValue(raw: Buffer | string | null | undefined): RocksdbItem | undefined {
  if (raw === null || raw === undefined) return undefined;
  try {
    const item = JSON.parse(raw.toString()) as { v?: unknown; d?: unknown; deleted?: unknown };
    if (typeof item.v !== 'string' || !ENTRY_ID.test(item.v)) return undefined;
    if (item.deleted === true) return { version: item.v, deleted: true, value: undefined };
    return { version: item.v, deleted: false, value: item.d };
  } catch {
    return undefined;
  }
}

export function encodeRocksdbValue(id: string, deleted: boolean, value: unknown): string {
  return deleted ? `{"v":"${id}","deleted":true}` : `{"v":"${id}","d":${JSON.stringify(value) ?? 'null'}}`;
}
