import { raisedError } from './database-errors.js';
import { UnknownNamespaceError } from './errors.js';
import type { Queryable } from './executor.js';
import {
  type NamespaceConfig,
  type NamespaceConfigInput,
  type NamespaceRow,
  namespaceFromRow,
  resolveNamespaceConfig,
} from './namespace-config.js';
import type { Sql } from './sql/context.js';

export interface UpsertOptions {
  /** Change `partitions` or `ordering` even while entries are undelivered (breaks their per-key order). */
  force?: boolean;
}

const COLUMNS =
  'name, ordering, partitions, targets, retry, on_exhausted, max_payload_bytes, retention_hours';

/** Control plane: namespace records in `<schema>.namespaces`, cached briefly for the append path. */
export class Namespaces {
  readonly #cache = new Map<string, { config: NamespaceConfig; at: number }>();
  /**
   * Bumped by every upsert and forget: a read that began before one of them must not put back what it read
   * (the row as it was before this process changed it), or the change would go unseen here for cacheTtlMs
   * (a drain refreshing its config while a test switched onExhausted to 'block').
   */
  #generation = 0;

  constructor(
    private readonly sql: Sql,
    private readonly cacheTtlMs = 5000,
  ) {}

  /**
   * Creates a namespace or replaces its record. A change of `partitions` or `ordering` moves keys to other
   * partitions, so while entries are undelivered it is refused with NamespaceBusyError (nothing is written);
   * `force` changes it anyway, giving up per-key order between the pending entries and newer ones.
   */
  async upsert(input: NamespaceConfigInput, options: UpsertOptions = {}): Promise<NamespaceConfig> {
    const c = resolveNamespaceConfig(input);
    let rows: NamespaceRow[];
    try {
      // One function call: the check and the write share a transaction holding the namespace lock.
      ({ rows } = await this.sql.db.query<NamespaceRow>(
        `select ${COLUMNS} from ${this.sql.schema}.upsert_namespace($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
        [
          c.name,
          c.ordering,
          c.partitions,
          c.targets,
          JSON.stringify(c.retry),
          c.onExhausted,
          c.maxPayloadBytes,
          c.retentionHours,
          options.force === true,
        ],
      ));
    } catch (err) {
      throw raisedError(err); // NamespaceBusyError when upsert_namespace refuses a change
    }
    this.#generation++;
    return this.#remember(namespaceFromRow(rows[0]!));
  }

  async get(name: string): Promise<NamespaceConfig | undefined> {
    return this.#fetch(this.sql.db, name);
  }

  async list(): Promise<NamespaceConfig[]> {
    const { rows } = await this.sql.db.query<NamespaceRow>(
      `select ${COLUMNS} from ${this.sql.schema}.namespaces order by name`,
    );
    return rows.map((r) => this.#remember(namespaceFromRow(r)));
  }

  /**
   * For the append path: the cached config, else one read through the caller's executor (so a namespace
   * created earlier in the caller's own transaction is found).
   */
  async require(name: string, via: Queryable): Promise<NamespaceConfig> {
    const hit = this.#cache.get(name);
    if (hit && Date.now() - hit.at < this.cacheTtlMs) return hit.config;
    const config = await this.#fetch(via, name);
    if (!config) throw new UnknownNamespaceError(name);
    return config;
  }

  /** Drops cached configs, e.g. after a namespace changed elsewhere. */
  forget(name?: string): void {
    if (name === undefined) this.#cache.clear();
    else this.#cache.delete(name);
    this.#generation++;
  }

  async #fetch(via: Queryable, name: string): Promise<NamespaceConfig | undefined> {
    const generation = this.#generation;
    const { rows } = await via.query<NamespaceRow>(
      `select ${COLUMNS} from ${this.sql.schema}.namespace_config($1)`,
      [name],
    );
    const current = this.#generation === generation;
    if (!rows[0]) {
      if (current) this.#cache.delete(name);
      return undefined;
    }
    const config = namespaceFromRow(rows[0]);
    return current ? this.#remember(config) : config;
  }

  #remember(config: NamespaceConfig): NamespaceConfig {
    this.#cache.set(config.name, { config, at: Date.now() });
    return config;
  }
}
