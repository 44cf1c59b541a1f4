// A dispatcher process SIGKILLed in the middle of a batch: its leases lapse, another process takes its
// partitions over and re-delivers what it had not recorded; nothing committed is lost, nothing rolled back
// arrives, each process delivers each key in order.
import { describe, expect, it } from 'vitest';
import { type ChildDispatcher, childDispatchers } from '../support/child-dispatcher.js';
import { databaseUrl, isolatedWalbox } from '../support/db.js';
import { Producers } from '../support/producers.js';
import { until } from '../support/recording-sink.js';
import {
  countDelivered,
  type Delivery,
  orderViolations,
  overlappingBatches,
  readBatches,
  readDeliveries,
  readReplica,
  replicaSchema,
} from '../support/replica.js';
import { firstBatchesOfOthers, signalMidBatch } from '../support/takeover.js';

// A schema per test: the children of one test must not see the namespaces (and leftover cursors) of the other.
const databases = { new: await isolatedWalbox('crash-new'), peer: await isolatedWalbox('crash-peer') };
let { pool, walbox, schema } = databases.new;
const LEASE_MS = 10_000;
const KEYS = Array.from({ length: 200 }, (_, i) => `k${i}`);

let replica = '';
const children = childDispatchers(() => ({
  databaseUrl: databaseUrl(),
  schema,
  replicaSchema: replica,
  // The kill is sent from the handler of the child's half-way report: this leaves it ample time to land.
  sinkDelayMs: 500,
  dispatcher: { leaseMs: LEASE_MS, superviseMs: 2000, batchSize: 100 },
}));

/**
 * Every partition the killed process held is drained by another process within 30 s of the kill, and not
 * before its lease ran out.
 */
async function expectTakeover(
  killed: ChildDispatcher,
  killedAt: Date,
  held: Map<number, Date>,
  label: string,
) {
  expect(held.size).toBeGreaterThan(0);
  const first = await firstBatchesOfOthers(pool, replica, killed, killedAt, [...held.keys()]);
  const times = [...held.keys()].map((p) => first.get(p)!.getTime() - killedAt.getTime());
  console.log(`${label}: ${held.size} partitions taken over after ${times.join(', ')} ms`);
  expect(Math.max(...times)).toBeLessThan(30_000);
  for (const [p, leaseUntil] of held)
    expect(first.get(p)!.getTime()).toBeGreaterThanOrEqual(leaseUntil.getTime());
}

/** Everything committed reached the replica, exactly the last value per key, in order per process. */
async function expectConverged(producers: Producers, killed: Map<number, Date>) {
  const committed = producers.committed;
  await until(
    async () => (await countDelivered(pool, replica)) >= committed.size,
    90_000,
    `all ${committed.size} committed entries to reach the replica`,
  );
  const deliveries = await readDeliveries(pool, replica);
  const delivered = new Set(deliveries.map((d) => d.entryId));
  expect(delivered.size).toBe(committed.size);
  expect([...delivered].filter((id) => !committed.has(id))).toEqual([]);
  expect([...delivered].filter((id) => producers.rolledBack.has(id))).toEqual([]);
  expect(producers.rolledBack.size).toBeGreaterThan(0);

  const rows = await readReplica(pool, replica);
  const last = producers.lastByKey();
  expect(rows.size).toBe(last.size);
  for (const [key, e] of last) {
    expect(rows.get(key), key).toEqual({
      value: e.op === 'delete' ? null : e.payload,
      version: e.id,
      deleted: e.op === 'delete',
    });
  }
  expect(orderViolations(deliveries)).toEqual([]);
  expect(overlappingBatches(await readBatches(pool, replica), killed)).toEqual([]);
  return deliveries;
}

/**
 * Producers append while dispatcher a drains; a is SIGKILLed mid-batch; the survivor b, started after the kill
 * or already running beside a, takes over and everything committed converges.
 */
async function killMidBatch(db: typeof databases.new, namespace: string, survivor: 'new' | 'peer') {
  ({ pool, walbox, schema } = db);
  replica = await replicaSchema(pool, schema, namespace.replace('-', '_'));
  await walbox.namespaces.upsert({ name: namespace, targets: ['replica'], partitions: 8 });
  const a = await children.start();
  let b = survivor === 'peer' ? await children.start() : undefined;
  const producers = new Producers(pool, walbox, { namespace, keys: KEYS, pauseMs: 100 }).start();
  try {
    await producers.until(1500);
    const { at: killedAt, held } = await signalMidBatch(pool, schema, namespace, a, 'SIGKILL');
    b ??= await children.start();
    await expectTakeover(a, killedAt, held, survivor === 'new' ? 'crash/new process' : 'crash/peer');

    await producers.until(6000);
    await producers.stop();
    const deliveries = await expectConverged(producers, new Map([[a.pid, killedAt]]));
    const cut = await expectCutBatchesRedelivered(deliveries, a.pid, b.pid);
    console.log(`  ${cut} entries of cut batches were delivered again by the survivor`);
    expect(b.alive).toBe(true);
  } finally {
    await producers.stop().catch(() => {});
  }
}

describe('a dispatcher process killed mid-batch', () => {
  it('is replaced by a new process that takes over within 30 s and loses nothing', async () => {
    await killMidBatch(databases.new, 'crash-new', 'new');
  }, 240_000);

  it('is replaced by a dispatcher already running, by itself, within 30 s', async () => {
    await killMidBatch(databases.peer, 'crash-peer', 'peer');
  }, 240_000);
});

/**
 * The batches the killed process left unfinished (no end recorded: apply never returned, so no progress was
 * recorded either) reached the replica in part, and the survivor delivered those entries again.
 */
async function expectCutBatchesRedelivered(deliveries: Delivery[], killedPid: number, survivorPid: number) {
  const open = new Set(
    (await readBatches(pool, replica)).filter((b) => b.pid === killedPid && !b.endedAt).map((b) => b.id),
  );
  const cut = deliveries.filter((d) => d.pid === killedPid && open.has(d.batch)).map((d) => d.entryId);
  expect(cut.length).toBeGreaterThan(0);
  const again = new Set(deliveries.filter((d) => d.pid === survivorPid).map((d) => d.entryId));
  expect(cut.filter((id) => !again.has(id))).toEqual([]);
  return cut.length;
}
