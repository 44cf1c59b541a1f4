import type { PostgresIndexSink } from '@walbox/sink-index';
import type { RocksdbSink } from '@walbox/sink-rocksdb';
import type { Entry, Sink } from 'walbox';
import { openDemoIndex } from './index-target.js';
import { cell } from './print.js';
import { type DemoRedis, openDemoRedis } from './redis.js';
import { openDemoRocksdb } from './rocksdb-target.js';
import type { WalboxApi } from './walbox-api.js';

export interface DemoTargets {
  sinks: Record<string, Sink>;
  /** What each target applied, in the order it applied it. */
  delivered: Map<string, Entry[]>;
  /** The secondary index by plan (@walbox/sink-index on Postgres), for lookups. */
  index: PostgresIndexSink;
  /** The embedded RocksDB replica (@walbox/sink-rocksdb), to read back from. */
  rocksdb: RocksdbSink;
  redis: DemoRedis | undefined;
}

/**
 * A printing callback sink, a secondary index in Postgres (tables in `indexSchema`), an embedded RocksDB
 * replica (in `rocksdbDir`), and the real Redis sink when a Redis server answers.
 */
export async function openDemoTargets(
  { functionSink }: WalboxApi,
  where: { databaseUrl: string; indexSchema: string; rocksdbDir: string; keyPrefix: string },
  useRedis: boolean,
  say: (text: string) => void,
  stamp: () => string,
): Promise<DemoTargets> {
  const delivered = new Map<string, Entry[]>();
  const record = (target: string, batch: readonly Entry[]) =>
    delivered.set(target, [...(delivered.get(target) ?? []), ...batch]);
  const sinks: Record<string, Sink> = {
    log: functionSink('log', (batch, ctx) => {
      for (const e of batch) {
        const payload = e.payload === null ? '' : ` ${cell(e.payload, 50)}`;
        say(
          `      ${stamp()}  log   ← #${e.id} ${e.namespace}/${e.key} ${e.op}${payload}  (partition ${ctx.partition})`,
        );
      }
      record('log', batch);
    }),
  };
  say('   log    a callback sink (functionSink) that prints what it applies');

  const index = openDemoIndex(where.databaseUrl, where.indexSchema);
  sinks.index = recording(index, (batch) => {
    const ids = batch.map((e) => `#${e.id}`).join(' ');
    const n = `${batch.length} entr${batch.length === 1 ? 'y' : 'ies'}`;
    say(`      ${stamp()}  index ← ${n} (${ids}) applied: the keys of each plan`);
    record('index', batch);
  });
  say(`   index  @walbox/sink-index on Postgres: users by plan, in schema ${where.indexSchema}`);

  const rocksdb = openDemoRocksdb(where.rocksdbDir);
  sinks.rocks = recording(rocksdb, (batch) => {
    const ids = batch.map((e) => `#${e.id}`).join(' ');
    const n = `${batch.length} entr${batch.length === 1 ? 'y' : 'ies'}`;
    say(`      ${stamp()}  rocks ← ${n} (${ids}) applied in one RocksDB write batch`);
    record('rocks', batch);
  });
  say(`   rocks  @walbox/sink-rocksdb: an embedded RocksDB replica in ${where.rocksdbDir} (no server)`);

  const r = useRedis ? await openDemoRedis(where.keyPrefix) : { skipped: 'disabled by --no-redis' };
  if (!('sink' in r)) {
    say(`   redis  skipped: ${r.skipped}`);
    return { sinks, delivered, index, rocksdb, redis: undefined };
  }
  sinks.redis = recording(r.sink, (batch) => {
    const ids = batch.map((e) => `#${e.id}`).join(' ');
    const n = `${batch.length} entr${batch.length === 1 ? 'y' : 'ies'}`;
    say(`      ${stamp()}  redis ← ${n} (${ids}) applied with a version guard`);
    record('redis', batch);
  });
  say(`   redis  @walbox/sink-redis at ${r.url}, keys "${r.keyPrefix}users:<key>"`);
  return { sinks, delivered, index, rocksdb, redis: r };
}

/** Wraps a sink to report the entries it applied (all but the ones it says failed). */
function recording(inner: Sink, onApplied: (batch: readonly Entry[]) => void): Sink {
  return {
    name: inner.name,
    apply: async (batch, ctx) => {
      const result = await inner.apply(batch, ctx);
      const failed = new Set((result?.failed ?? []).map((f) => f.id));
      onApplied(batch.filter((e) => !failed.has(e.id)));
      return result;
    },
    ...(inner.close ? { close: () => inner.close!() } : {}),
  };
}
