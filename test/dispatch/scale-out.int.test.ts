// Three dispatcher processes on one database share the partitions, never two on one partition at once; when
// one is SIGKILLed the others finish its work, and one stopped with SIGTERM hands its partitions over at
// once instead of letting its leases run out.
import { describe, expect, it } from 'vitest';
import { functionSink, Walbox } from '../../src/index.js';
import type { ChildDispatcher } from '../support/child-dispatcher.js';
import { childDispatchers } from '../support/child-dispatcher.js';
import { databaseUrl, isolatedWalbox } from '../support/db.js';
import { Producers } from '../support/producers.js';
import { until } from '../support/recording-sink.js';
import {
  orderViolations,
  overlappingBatches,
  readBatches,
  readDeliveries,
  readReplica,
  replicaSchema,
} from '../support/replica.js';
import { firstBatchesOfOthers, leasesHeld, signalMidBatch } from '../support/takeover.js';

const { pool, walbox, schema } = await isolatedWalbox('scale-out');
const replica = await replicaSchema(pool, schema);
// The defaults, spelled out: the graceful hand-over is measured against them.
const LEASE_MS = 15_000;
const children = childDispatchers(() => ({
  databaseUrl: databaseUrl(),
  schema,
  replicaSchema: replica,
  sinkDelayMs: 300,
  dispatcher: { leaseMs: LEASE_MS, superviseMs: 5000, batchSize: 100 },
}));

/** Waits until every id in `ids` reached the replica. */
async function allDelivered(ids: readonly string[], what: string) {
  await until(
    async () => {
      const { rows } = await pool.query<{ n: number }>(
        `select count(distinct entry_id)::int as n from "${replica}".deliveries where entry_id = any($1::bigint[])`,
        [ids],
      );
      return rows[0]!.n === ids.length;
    },
    90_000,
    what,
  );
}

/** The child holding the most leases right now (it has a batch in flight soonest). */
async function busiest(of: ChildDispatcher[]): Promise<ChildDispatcher> {
  const held = await Promise.all(of.map(async (c) => (await leasesHeld(pool, schema, 'scale', c)).size));
  return of[held.indexOf(Math.max(...held))]!;
}

describe('several dispatcher processes', () => {
  it('share partitions, one at a time each, survive a SIGKILL and hand over on SIGTERM', async () => {
    await walbox.namespaces.upsert({ name: 'scale', targets: ['replica'], partitions: 8 });
    const all = await Promise.all([children.start(), children.start(), children.start()]);
    const producers = new Producers(pool, walbox, {
      namespace: 'scale',
      keys: Array.from({ length: 200 }, (_, i) => `k${i}`),
      pauseMs: 100,
    }).start();
    try {
      // Shared: more than one process drains (they trade partitions whenever a drain yields its slice).
      await producers.until(1500);
      await until(
        async () => new Set((await readBatches(pool, replica)).map((b) => b.pid)).size > 1,
        60_000,
        'a second process to drain a partition',
      );

      // SIGKILL one mid-batch: the survivors take its partitions once its leases lapse, and catch up.
      const killed = await busiest(all);
      const kill = await signalMidBatch(pool, schema, 'scale', killed, 'SIGKILL');
      const survivors = all.filter((c) => c !== killed);
      const takenOver = await firstBatchesOfOthers(pool, replica, killed, kill.at, [...kill.held.keys()]);
      const takeoverMs = [...takenOver.values()].map((t) => t.getTime() - kill.at.getTime());
      console.log(
        `scale-out/SIGKILL: ${kill.held.size} partitions taken over after ${takeoverMs.join(', ')} ms`,
      );
      expect(Math.max(...takeoverMs)).toBeLessThan(30_000);
      await producers.until(producers.committed.size + 1000);
      await allDelivered(
        [...producers.committed.keys()],
        'the survivors to deliver everything committed so far',
      );

      // SIGTERM another mid-batch: it finishes the batch, records it, releases its leases and exits 0; the last
      // process takes its partitions well before a lease could have lapsed (a lease has at least 2/3 of
      // leaseMs left at any time, the heartbeat renewing it every leaseMs / 3).
      const stopped = await busiest(survivors);
      const last = survivors.find((c) => c !== stopped)!;
      const term = await signalMidBatch(pool, schema, 'scale', stopped, 'SIGTERM');
      expect(await stopped.exited).toEqual({ code: 0, signal: null });
      const exitMs = Date.now() - term.at.getTime();
      const handedOver = await firstBatchesOfOthers(pool, replica, stopped, term.at, [...term.held.keys()]);
      const handoverMs = [...handedOver.values()].map((t) => t.getTime() - term.at.getTime());
      console.log(
        `scale-out/SIGTERM: exited after ${exitMs} ms; ${term.held.size} partitions handed over after ` +
          `${handoverMs.join(', ')} ms`,
      );
      expect(term.held.size).toBeGreaterThan(0);
      expect(Math.max(...handoverMs)).toBeLessThan((LEASE_MS * 2) / 3);
      const { rows: leftOver } = await pool.query(
        `select partition from "${schema}".cursors where lease_owner = $1`,
        [stopped.dispatcherId],
      );
      expect(leftOver).toEqual([]);

      await producers.until(producers.committed.size + 1000);
      await producers.stop();
      await allDelivered([...producers.committed.keys()], 'the last process to deliver everything');

      const deliveries = await readDeliveries(pool, replica);
      const delivered = new Set(deliveries.map((d) => d.entryId));
      expect(delivered.size).toBe(producers.committed.size);
      expect([...delivered].filter((id) => !producers.committed.has(id))).toEqual([]);
      const rows = await readReplica(pool, replica);
      const lastByKey = producers.lastByKey();
      expect(rows.size).toBe(lastByKey.size);
      for (const [key, e] of lastByKey) {
        expect(rows.get(key), key).toEqual({
          value: e.payload,
          version: e.id,
          deleted: e.op === 'delete',
        });
      }
      expect(orderViolations(deliveries)).toEqual([]);
      const batches = await readBatches(pool, replica);
      expect(overlappingBatches(batches, new Map([[killed.pid, kill.at]]))).toEqual([]);
      // The graceful stop finished its batches and recorded them: none cut, nothing of it delivered again.
      expect(batches.filter((b) => b.pid === stopped.pid && !b.endedAt)).toEqual([]);
      const byStopped = new Set(deliveries.filter((d) => d.pid === stopped.pid).map((d) => d.entryId));
      const again = deliveries.filter(
        (d) => d.pid === last.pid && d.at > term.at && byStopped.has(d.entryId),
      );
      expect(again).toEqual([]);
      const perPid = new Map<number, number>();
      for (const b of batches) perPid.set(b.pid, (perPid.get(b.pid) ?? 0) + 1);
      console.log(`scale-out: batches per process ${JSON.stringify(Object.fromEntries(perPid))}`);
      expect(last.alive).toBe(true);
    } finally {
      await producers.stop().catch(() => {});
    }
  }, 300_000);
});

describe('a dispatcher stopping while one batch is slow', () => {
  it('hands its other partitions over at once, not after the survivor next supervises', async () => {
    await walbox.namespaces.upsert({ name: 'slowstop', targets: ['t'], partitions: 9 });
    const drainedBy = new Map<string, Array<{ partition: number; at: number }>>();
    let slowNext = false;
    let slowPartition = -1;
    const sink = (who: string) =>
      functionSink('t', async (_batch, ctx) => {
        drainedBy.set(who, [...(drainedBy.get(who) ?? []), { partition: ctx.partition, at: Date.now() }]);
        if (who === 'a' && slowNext) {
          slowNext = false;
          slowPartition = ctx.partition;
          await new Promise((r) => setTimeout(r, 8000));
        }
      });
    // Drains hold their partitions (no idle release, no time slices); b only looks for work on its own every
    // 60 s, so only a hand-over can explain b draining a's partitions sooner.
    const hold = { idleReleaseMs: 600_000, maxDrainMs: 600_000, leaseMs: 120_000, superviseMs: 60_000 };
    const a = walbox.dispatcher({ sinks: { t: sink('a') }, ...hold, concurrency: 8 });
    const b = walbox.dispatcher({ sinks: { t: sink('b') }, ...hold });
    try {
      const append = () =>
        walbox.appendMany(
          pool,
          Array.from({ length: 200 }, (_, k) => ({ namespace: 'slowstop', key: `k${k}`, op: 'upsert' })),
        );
      await a.start();
      await append();
      const partitionsOf = (who: string) => new Set((drainedBy.get(who) ?? []).map((d) => d.partition));
      await until(() => partitionsOf('a').size === 8, 30_000, 'a to drain 8 partitions');
      // b starts and drains the ninth: it has a partition of the namespace, so a NOTIFY only wakes that drain.
      await b.start();
      await until(() => partitionsOf('b').size === 1, 30_000, 'b to drain the ninth partition');
      const ofA = [...partitionsOf('a')];

      slowNext = true;
      await append();
      await until(() => slowPartition >= 0, 10_000, 'a slow batch');
      const stoppedAt = Date.now();
      const stopping = a.stop();
      const appending = (async () => {
        for (let i = 0; i < 20 && Date.now() - stoppedAt < 10_000; i++) {
          await append();
          await new Promise((r) => setTimeout(r, 250));
        }
      })();
      const fast = ofA.filter((p) => p !== slowPartition);
      const firstByB = (p: number) =>
        drainedBy.get('b')!.find((d) => d.partition === p && d.at > stoppedAt)?.at;
      await until(() => fast.every((p) => firstByB(p) !== undefined), 30_000, 'b to take a’s partitions');
      const handover = fast.map((p) => firstByB(p)! - stoppedAt);
      console.log(`slow stop: ${fast.length} partitions handed over after ${handover.join(', ')} ms`);
      expect(Math.max(...handover)).toBeLessThan(5000);
      await stopping;
      await appending;
    } finally {
      await a.stop();
      await b.stop();
    }
  }, 120_000);
});

describe('dispatchers deployed together', () => {
  it('all start when they start at once on a database none has used yet', async () => {
    for (let round = 0; round < 4; round++) {
      // A walbox schema (and so a pg-boss schema) of its own each round: the queues do not exist yet.
      const fresh = `${schema}_fresh${round}`;
      const boxes = [0, 1, 2].map(() => new Walbox({ pool, schema: fresh }));
      await boxes[0]!.migrate();
      const dispatchers = boxes.map((w) => w.dispatcher({ sinks: { t: functionSink('t', () => {}) } }));
      try {
        const started = await Promise.allSettled(dispatchers.map((d) => d.start()));
        expect(started.filter((s) => s.status === 'rejected')).toEqual([]);
      } finally {
        await Promise.all(dispatchers.map((d) => d.stop()));
        await pool.query(
          `drop schema if exists "${fresh}" cascade; drop schema if exists "${fresh}_boss" cascade`,
        );
      }
    }
  }, 120_000);
});
