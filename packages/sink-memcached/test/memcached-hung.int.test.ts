// A hung memcached (SIGSTOP: its port stays open, nothing answers) and its resumption, against a real
// memcached: batches fail with a typed timeout while it hangs and go through again as soon as it answers.
import memjs from 'memjs';
import { describe, expect, it } from 'vitest';
import type { Entry, SinkContext } from '../../../src/index.js';
import { canStart } from '../../../test/support/required-servers.js';
import { startMemcached } from '../../../test/support/servers.js';
import { createMemcachedSink, type MemcachedSink, MemcachedTimeoutError } from '../src/index.js';

const ctx: SinkContext = {
  namespace: 'x',
  target: 'cache',
  partition: 0,
  signal: new AbortController().signal,
};
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
let id = 0;
const batch = (lane: number) =>
  Array.from({ length: 20 }, (_, i) => ({
    id: String(++id),
    namespace: 'n',
    key: `${lane}-${i}`,
    op: 'upsert',
    payload: id,
  })) as Entry[];

/** The apply, or a rejection after `ms`: the dispatcher's applyTimeoutMs, so that a lost batch fails the test. */
function bounded<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`apply still running after ${ms} ms`)), ms);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

describe.runIf(canStart('memcached'))('memcached sink, hung server', () => {
  it('fails batches with MemcachedTimeoutError while memcached hangs, and delivers within a second of it resuming', async () => {
    const server = await startMemcached();
    const sink = createMemcachedSink({ servers: server.servers, timeoutMs: 300, connectTimeoutMs: 300 });
    // Four lanes applying in a loop, as a dispatcher drains four partitions, backing off 100-300 ms after a
    // failure. memjs 1.3.2 without the socket guard stopped answering every lane here after SIGCONT.
    const errors: unknown[] = [];
    const okAt: number[][] = [[], [], [], []];
    let running = true;
    const lane = async (n: number) => {
      while (running) {
        try {
          await bounded(sink.apply(batch(n), ctx), 10_000);
          okAt[n]!.push(Date.now());
          await sleep(20);
        } catch (error) {
          errors.push(error);
          await sleep(100 + Math.random() * 200);
        }
      }
    };
    const lanes = [0, 1, 2, 3].map(lane);
    try {
      await sleep(500);
      await server.freeze();
      const frozenAt = Date.now();
      await sleep(4000);
      server.kill('SIGCONT');
      const resumedAt = Date.now();
      await sleep(3000);
      running = false;
      await Promise.all(lanes);

      // While it hung: every batch failed, with the typed timeout.
      const during = okAt.flat().filter((t) => t > frozenAt + 100 && t < resumedAt);
      expect(during).toEqual([]);
      expect(errors.length).toBeGreaterThan(4);
      expect(errors.every((e) => e instanceof MemcachedTimeoutError)).toBe(true);
      expect((errors[0] as MemcachedTimeoutError).code).toBe('MEMCACHED_TIMEOUT');
      // Once it answers: every lane delivers again within a second (a backoff at most), and keeps delivering.
      for (const times of okAt) {
        const first = times.find((t) => t >= resumedAt);
        expect(first, 'a lane never delivered after SIGCONT').toBeDefined();
        expect(first! - resumedAt).toBeLessThan(1000);
        expect(times.filter((t) => t >= resumedAt + 2000).length).toBeGreaterThan(0);
      }
    } finally {
      running = false;
      server.kill('SIGCONT');
      await sink.close();
      await server.stop();
    }
  });

  it('ends a request past requestDeadlineMs even when the client would wait longer', async () => {
    const server = await startMemcached();
    // A caller's client whose own timeout is a minute: the sink's deadline still fails the batch.
    const client = memjs.Client.create(server.servers, {
      timeout: 60,
      retries: 1,
      logger: { log: () => {} },
    });
    const sink: MemcachedSink = createMemcachedSink({ client, requestDeadlineMs: 500 });
    try {
      await sink.apply(batch(0), ctx);
      await server.freeze();
      const started = Date.now();
      const failure = await sink.apply(batch(0), ctx).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(MemcachedTimeoutError);
      expect(String(failure)).toMatch(/no answer in 500 ms/);
      expect(Date.now() - started).toBeLessThan(2000);
    } finally {
      server.kill('SIGCONT');
      await sink.close();
      client.close();
      await server.stop();
    }
  });
});
