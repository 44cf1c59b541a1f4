import { randomBytes } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { Sink } from '@walbox/sink-kit';
import { afterAll, expect, it } from 'vitest';
import { expected, until } from './entries.js';
import type { Suite } from './suite.js';

/** The part of walbox's public API the case uses, so that the package builds without walbox installed. */
interface WalboxModule {
  Walbox: new (config: {
    connectionString: string;
    schema: string;
  }) => {
    readonly pool: { query(sql: string): Promise<unknown> };
    migrate(): Promise<unknown>;
    close(): Promise<void>;
    namespaces: { upsert(config: { name: string; targets: string[]; partitions: number }): Promise<unknown> };
    appendMany(
      executor: unknown,
      entries: ReadonlyArray<{ namespace: string; key: string; op: string; payload?: unknown }>,
    ): Promise<Array<{ id: string; key: string; op: string; payload: unknown }>>;
    dispatcher(options: { sinks: Record<string, Sink>; pollIntervalMs: number }): {
      start(): Promise<void>;
      stop(): Promise<void>;
    };
  };
}

// walbox is an optional peer: imported when the case runs, by a specifier TypeScript does not resolve.
const WALBOX = 'walbox';
const loadWalbox = () => import(WALBOX) as Promise<WalboxModule>;

/**
 * The sink under a real walbox dispatcher, through walbox's public API only: a schema of its own in the
 * database at `options.databaseUrl`, dropped afterwards. Skipped without a databaseUrl.
 */
export function dispatcherCase(s: Suite): void {
  const url = s.options.databaseUrl;
  const cleanups: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it.runIf(url !== undefined)(
    'delivers the log under a walbox dispatcher so that the store holds the latest value of every key',
    async () => {
      const { Walbox } = await loadWalbox();
      const schema = `sinktest_${randomBytes(6).toString('hex')}`;
      const walbox = new Walbox({ connectionString: url!, schema });
      cleanups.push(async () => {
        await walbox.pool.query(`drop schema if exists "${schema}" cascade`);
        await walbox.pool.query(`drop schema if exists "${schema}_boss" cascade`);
        await walbox.close();
      });
      await walbox.migrate();
      const ns = s.fresh();
      await walbox.namespaces.upsert({ name: ns, targets: ['store'], partitions: 3 });
      const dispatcher = walbox.dispatcher({
        sinks: { store: await s.harness().create() },
        pollIntervalMs: 50,
      });
      await dispatcher.start();
      try {
        const stored: Array<{ id: string; key: string; op: string; payload: unknown }> = [];
        for (let t = 0; t < 12; t++) {
          // Each appendMany is one source transaction of 25 entries.
          const batch = Array.from({ length: 25 }, (_, i) => {
            const key = `u${(t * 25 + i) % 40}`;
            return (t * 25 + i) % 11 === 10
              ? { namespace: ns, key, op: 'delete' as const }
              : { namespace: ns, key, op: 'upsert' as const, payload: { t, i } };
          });
          stored.push(...(await walbox.appendMany(walbox.pool, batch)));
        }
        const keys = [...new Set(stored.map((e) => e.key))];
        const want = keys.map((k) => expected(stored, k));
        await until(
          async () => isDeepStrictEqual(await Promise.all(keys.map((k) => s.read(ns, k))), want),
          s.options.convergeTimeoutMs,
          'the store to hold the latest value of every key',
        );
        expect(await Promise.all(keys.map((k) => s.read(ns, k)))).toEqual(want);
      } finally {
        await dispatcher.stop();
      }
    },
  );
}
