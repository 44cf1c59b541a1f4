import { ENTRY_COLUMNS, type Entry, type EntryRow, entryFromRow } from '../entry.js';
import { UnknownNamespaceError } from '../errors.js';
import { toQueryable } from '../executor.js';
import { assertLogicalName } from '../names.js';
import type { LogPosition } from '../snapshot-reader.js';
import { sqlContext } from '../sql/context.js';
import type { Walbox } from '../walbox.js';

/** Entries read per partition and statement while catching up. */
const READ_LIMIT = 500;

/**
 * The log of one namespace as it commits, like `tail -f`: `start()` returns the newest entries committed so
 * far, then each `poll()` returns those committed since, in the snapshot reader's order (so an entry whose
 * transaction took its id early and committed late is not skipped). Optionally only one key's entries.
 */
export class LogTail {
  #positions = new Map<number, LogPosition>();

  constructor(
    private readonly walbox: Walbox,
    readonly namespace: string,
    readonly key?: string,
  ) {
    assertLogicalName('namespace', namespace);
  }

  /** The newest `lines` entries (oldest first), committed in the snapshot from which polling continues. */
  async start(lines: number): Promise<Entry[]> {
    const ns = await this.walbox.namespaces.get(this.namespace);
    if (!ns) throw new UnknownNamespaceError(this.namespace);
    const sql = sqlContext(toQueryable(this.walbox.pool), this.walbox.schema);
    const { rows } = await sql.db.query<{ snap: string }>('select pg_current_snapshot()::text as snap');
    const snapshot = rows[0]!.snap;
    for (let p = 0; p < ns.partitions; p++)
      this.#positions.set(p, { prev: snapshot, cur: null, afterId: null });
    if (lines === 0) return [];
    // Committed in that snapshot, and only those: the first poll reads exactly what came after.
    const newest = await sql.db.query<EntryRow>(
      `select ${ENTRY_COLUMNS} from ${sql.schema}.entries e
        where e.namespace = $1 and ($2::text is null or e.key = $2)
          and pg_visible_in_snapshot(e.xid, $3::pg_snapshot)
        order by e.id desc limit $4`,
      [this.namespace, this.key ?? null, snapshot, lines],
    );
    return newest.rows.reverse().map((r) => entryFromRow(r));
  }

  /** Entries committed since the last call (per partition in log order; partitions merged by id). */
  async poll(): Promise<Entry[]> {
    const found: Entry[] = [];
    for (const [partition, position] of this.#positions) {
      let at = position;
      for (;;) {
        const { entries, next } = await this.walbox.readBatch(
          { namespace: this.namespace, partition },
          at,
          READ_LIMIT,
        );
        at = next;
        for (const e of entries) if (this.key === undefined || e.key === this.key) found.push(e);
        if (entries.length < READ_LIMIT) break;
      }
      this.#positions.set(partition, at);
    }
    return found.sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1));
  }
}
