import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type pg from 'pg';
import { type ConsoleOptions, createConsoleHandler, toNodeHandler, type Walbox } from '../../../src/index.js';
import { FAST } from '../../support/dispatchers.js';
import { RecordingSink, until } from '../../support/recording-sink.js';

/** A key no page may turn into markup: if it were not escaped, the browser would create an <img> element. */
export const HOSTILE_KEY = '<img src=x id=pwned onerror="document.title=1">"\'&';

export interface Seeded {
  /** The sinks, by target; `search` rejects entries whose payload has bad: true until `heal()`. */
  sinks: Record<string, RecordingSink>;
  heal(): void;
  /** The transaction id of an order appended with two keys in one transaction. */
  transactionId: string;
  stopDispatcher(): Promise<void>;
}

const bad = (batch: readonly { id: string; payload: unknown }[]) => ({
  failed: batch
    .filter((e) => (e.payload as { bad?: boolean } | null)?.bad)
    .map((e) => ({ id: e.id, error: new Error('search rejected the document: mapper_parsing_exception') })),
});

/**
 * A database that has something on every page: delivered entries, dead letters from a failing sink (through
 * a real dispatcher), a key blocked for an operator, a key retrying, a hostile key, and a multi-key mutation.
 */
export async function seed(walbox: Walbox, pool: pg.Pool): Promise<Seeded> {
  const fastRetry = { limit: 0, initialDelayMs: 10, maxDelayMs: 10 };
  await walbox.namespaces.upsert({
    name: 'orders',
    targets: ['search', 'cache'],
    partitions: 2,
    retry: fastRetry,
  });
  await walbox.namespaces.upsert({
    name: 'users',
    targets: ['index'],
    partitions: 1,
    onExhausted: 'block',
    retry: fastRetry,
  });
  await walbox.namespaces.upsert({
    name: 'emails',
    targets: ['mailer'],
    retry: { limit: 1000, initialDelayMs: 3_600_000, maxDelayMs: 3_600_000 },
  });
  await walbox.namespaces.upsert({
    name: 'invoices',
    targets: ['warehouse'],
    partitions: 2,
    retry: { limit: 1000, initialDelayMs: 200, maxDelayMs: 1000 },
  });
  const sinks = {
    search: new RecordingSink('search'),
    cache: new RecordingSink('cache'),
    index: new RecordingSink('index'),
    mailer: new RecordingSink('mailer'),
    warehouse: new RecordingSink('warehouse'),
  };
  // A target that is down: every batch fails as a whole, so its partitions show as failing and it falls behind.
  sinks.warehouse.fault = () => new Error('connect ECONNREFUSED 127.0.0.1:5439');
  sinks.search.fault = bad;
  sinks.index.fault = bad;
  sinks.mailer.fault = (batch) => ({
    failed: batch.map((e) => ({ id: e.id, error: new Error('SMTP 451 try again later') })),
  });
  const dispatcher = walbox.dispatcher({ sinks, ...FAST, idleReleaseMs: 60_000 });
  await dispatcher.start();

  const orders = Array.from({ length: 40 }, (_, i) => ({
    namespace: 'orders',
    key: `order-${i % 12}`,
    op: 'upsert',
    payload: { total: 10 + i, bad: i === 7 || i === 19 },
    actor: 'checkout-service',
  }));
  await walbox.appendMany(pool, orders);
  await walbox.append(pool, {
    namespace: 'orders',
    key: HOSTILE_KEY,
    op: 'upsert',
    payload: { bad: true, note: '</pre><b>x</b>' },
  });
  const client = await pool.connect();
  let transactionId: string;
  try {
    await client.query('begin');
    await walbox.append(client, {
      namespace: 'orders',
      key: 'order-100',
      op: 'upsert',
      payload: { total: 99 },
      actor: 'ada',
    });
    await walbox.append(client, {
      namespace: 'users',
      key: 'user-ada',
      op: 'upsert',
      payload: { name: 'Ada' },
      actor: 'ada',
    });
    transactionId = (await client.query<{ xid: string }>('select pg_current_xact_id()::text as xid')).rows[0]!
      .xid;
    await client.query('commit');
  } finally {
    client.release();
  }
  await walbox.appendMany(pool, [
    { namespace: 'users', key: 'user-stuck', op: 'upsert', payload: { bad: true }, actor: 'signup' },
    { namespace: 'users', key: 'user-stuck', op: 'upsert', payload: { name: 'second' }, actor: 'signup' },
    { namespace: 'users', key: 'user-fine', op: 'upsert', payload: { name: 'Bo' }, actor: 'signup' },
    { namespace: 'emails', key: 'welcome-ada', op: 'send', payload: { to: 'ada@example.com' } },
  ]);
  await appendWave(walbox, pool, 0);
  await until(
    async () => {
      const s = await walbox.status();
      const get = (t: string) => s.find((x) => x.target === t)!;
      return (
        get('search').dead === 3 &&
        get('index').blocked === 1 &&
        get('mailer').parked === 1 &&
        get('cache').pending === 0 &&
        get('warehouse').failing > 0
      );
    },
    30_000,
    'the seeded dead letters, blocked key and retrying key',
  );
  return {
    sinks,
    heal: () => {
      sinks.search.fault = undefined;
      sinks.index.fault = undefined;
    },
    transactionId,
    stopDispatcher: () => dispatcher.stop(),
  };
}

/** Some orders and invoices: the orders are delivered, the invoices pile up at the target that is down. */
export async function appendWave(walbox: Walbox, pool: pg.Pool, wave: number) {
  await walbox.appendMany(pool, [
    ...Array.from({ length: 30 }, (_, i) => ({
      namespace: 'orders',
      key: `cart-${(wave * 30 + i) % 20}`,
      op: 'upsert',
      payload: { total: wave * 30 + i },
    })),
    ...Array.from({ length: 5 + wave * 3 }, (_, i) => ({
      namespace: 'invoices',
      key: `invoice-${wave}-${i}`,
      op: 'upsert',
      payload: { amount: i },
    })),
  ]);
}

/** The console on a loopback port of its own; close() stops the server and the handler's sampling. */
export async function serveConsole(walbox: Walbox, options: ConsoleOptions = {}) {
  const handler = createConsoleHandler(walbox, { historyIntervalMs: 250, ...options });
  const server: Server = createServer(toNodeHandler(handler));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${options.basePath ?? ''}`,
    async close() {
      handler.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
