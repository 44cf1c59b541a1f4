import type pg from 'pg';
import type { Walbox } from '../../src/index.js';

export interface Produced {
  id: string;
  key: string;
  op: 'upsert' | 'delete';
  payload: { key: string; n: number } | null;
  /** Date.now() before the transaction began: the entry cannot have been delivered before this. */
  begunAt: number;
}

export interface ProducerOptions {
  namespace: string;
  /** Keys to write; change `keys` on the instance to move later writes to other keys. */
  keys: readonly string[];
  /** Concurrent producer connections. */
  producers?: number;
  /** Entries per transaction. */
  txSize?: number;
  /** Pause between a producer's transactions. */
  pauseMs?: number;
  /** Every n-th transaction rolls back. */
  rollbackEvery?: number;
  /** Every n-th entry is a delete. */
  deleteEvery?: number;
}

/**
 * Producers appending in their own transactions until stopped, some of them rolled back, remembering what
 * committed and what did not. Per key, id order is commit order (append takes a per-key lock), so the entry
 * with the highest id of a key is its last value.
 */
export class Producers {
  readonly committed = new Map<string, Produced>();
  readonly rolledBack = new Set<string>();
  keys: readonly string[];
  #stop = false;
  #n = 0;
  #tx = 0;
  #running: Promise<void>[] = [];

  constructor(
    private readonly pool: pg.Pool,
    private readonly walbox: Walbox,
    private readonly options: ProducerOptions,
  ) {
    this.keys = options.keys;
  }

  start(): this {
    const { producers = 4 } = this.options;
    this.#running = Array.from({ length: producers }, () => this.#produce());
    return this;
  }

  /** Stops appending; rejects if a producer failed. */
  async stop(): Promise<void> {
    this.#stop = true;
    await Promise.all(this.#running);
  }

  /** Runs until `count` entries committed (or stop() was called). */
  async until(count: number): Promise<void> {
    while (!this.#stop && this.committed.size < count) {
      await Promise.race([new Promise((r) => setTimeout(r, 50)), ...this.#running]);
    }
  }

  /** The last committed entry of every key written. */
  lastByKey(): Map<string, Produced> {
    return lastByKey(this.committed.values());
  }

  async #produce(): Promise<void> {
    const { namespace, txSize = 10, pauseMs = 20, rollbackEvery = 7, deleteEvery = 11 } = this.options;
    while (!this.#stop) {
      const client = await this.pool.connect();
      try {
        const begunAt = Date.now();
        const rollback = ++this.#tx % rollbackEvery === 0;
        await client.query('begin');
        const batch: Array<Omit<Produced, 'id'>> = Array.from({ length: txSize }, () => {
          const n = ++this.#n;
          const key = this.keys[Math.floor(Math.random() * this.keys.length)]!;
          const del = n % deleteEvery === 0;
          return { key, op: del ? 'delete' : 'upsert', payload: del ? null : { key, n }, begunAt };
        });
        const stored = await this.walbox.appendMany(
          client,
          batch.map((b) => ({ namespace, key: b.key, op: b.op, payload: b.payload ?? undefined })),
        );
        await client.query(rollback ? 'rollback' : 'commit');
        for (const [i, s] of stored.entries()) {
          if (rollback) this.rolledBack.add(s.id);
          else this.committed.set(s.id, { ...batch[i]!, id: s.id });
        }
      } catch (err) {
        await client.query('rollback').catch(() => {});
        throw err;
      } finally {
        client.release();
      }
      await new Promise((r) => setTimeout(r, pauseMs));
    }
  }
}

/** The entry with the highest id of each key. */
export function lastByKey(entries: Iterable<Produced>): Map<string, Produced> {
  const last = new Map<string, Produced>();
  for (const e of entries) {
    const prev = last.get(e.key);
    if (!prev || BigInt(prev.id) < BigInt(e.id)) last.set(e.key, e);
  }
  return last;
}
