import { describe, expect, it } from 'vitest';
import { type Entry, type EntryInput, functionSink } from '../../src/index.js';
import { isolatedWalbox } from '../support/db.js';
import { FAST, stopAfterEach } from '../support/dispatchers.js';
import { until } from '../support/recording-sink.js';

const { pool, walbox, schema } = await isolatedWalbox('poison');
const running = stopAfterEach();

const RETRY = { limit: 2, initialDelayMs: 10, maxDelayMs: 20 };
const BATCH = 100;
/** Whole-batch failures before probing, then the poison entry's own attempts alone. */
const FAILED_CALLS_BOUND = RETRY.limit + 1 + (RETRY.limit + 1) + 2;

const isPoison = (e: Entry) => (e.payload as { poison?: boolean } | null)?.poison === true;
const byId = (x: string, y: string) => (BigInt(x) < BigInt(y) ? -1 : BigInt(x) > BigInt(y) ? 1 : 0);

interface Call {
  ids: string[];
  /** The batch held the poison entry, so the sink threw. */
  failed: boolean;
}

/**
 * A sink that throws for the whole batch whenever the poison entry is in it, and records every call. A call
 * that `hold` picks waits until the dispatcher stops (its signal aborts), as an apply cut off by a stop.
 * With `failOnce`, the first batch holding the poison entry fails just that entry (`{ failed }`) instead.
 */
function poisonSink(name: string) {
  const calls: Call[] = [];
  const applied: Entry[] = [];
  const state: { hold?: (batch: readonly Entry[]) => boolean; failOnce?: boolean } = {};
  const sink = functionSink(name, async (batch, ctx) => {
    if (state.hold?.(batch)) {
      state.hold = undefined;
      await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve, { once: true }));
      throw ctx.signal.reason;
    }
    const poison = batch.find(isPoison);
    calls.push({ ids: batch.map((e) => e.id), failed: poison !== undefined });
    if (poison && state.failOnce) {
      state.failOnce = false;
      applied.push(...batch.filter((e) => e.key !== poison.key));
      return { failed: [{ id: poison.id, error: new Error('entry rejected') }] };
    }
    if (poison) throw new Error('batch rejected');
    applied.push(...batch);
  });
  return { sink, calls, applied, state };
}

async function started(sink: ReturnType<typeof functionSink>) {
  const d = walbox.dispatcher({ sinks: { [sink.name]: sink }, ...FAST, batchSize: BATCH });
  running.push(d);
  await d.start();
  return d;
}

/**
 * Appends `entries` in transactions of `size` (the last one takes the rest): a batch holds its source
 * transactions whole, so batches then end at the transaction ends the tests choose.
 */
async function appendInTransactions(entries: EntryInput[], size: number): Promise<Entry[]> {
  const appended: Entry[] = [];
  for (let i = 0; i < entries.length; i += size) {
    appended.push(...(await walbox.appendMany(pool, entries.slice(i, i + size))));
  }
  return appended;
}

/** 120 entries of distinct keys; the one at position 80 poisons any batch holding it. */
async function appendWithPoison(namespace: string) {
  const appended = await appendInTransactions(
    Array.from({ length: 120 }, (_, i) => ({
      namespace,
      key: `k${i}`,
      op: 'upsert',
      payload: i === 80 ? { i, poison: true } : { i },
    })),
    10,
  );
  const poison = appended[80]!;
  return { poison, healthy: appended.filter((e) => e !== poison) };
}

function expectPerKeyOrder(applied: readonly Entry[]) {
  const byKey = new Map<string, string[]>();
  for (const e of applied) byKey.set(e.key, [...(byKey.get(e.key) ?? []), e.id]);
  for (const [key, keyIds] of byKey) expect(keyIds, `order of key ${key}`).toEqual([...keyIds].sort(byId));
}

/** From the first single-entry probe to the poison entry's last attempt, every call offered one entry. */
function expectProbedAlone(calls: readonly Call[], poisonId: string) {
  const first = calls.findIndex((c) => c.ids.length === 1);
  const last = calls.findLastIndex((c) => c.ids.includes(poisonId));
  expect(first).toBeGreaterThanOrEqual(RETRY.limit + 1);
  expect(last).toBeGreaterThan(first);
  const sizes = calls.slice(first, last + 1).map((c) => c.ids.length);
  expect(
    sizes.filter((n) => n > 1),
    'batches offered while probing',
  ).toEqual([]);
}

async function untilIsolated(target: string, healthy: readonly Entry[], applied: readonly Entry[]) {
  await until(
    async () =>
      (await walbox.deadLetters.list({ target })).length === 1 &&
      healthy.every((e) => applied.some((a) => a.id === e.id)),
    45_000,
    'the poison entry to be dead-lettered and the rest delivered',
  );
}

describe('a poison entry deep in a batch that always throws', () => {
  it('is isolated by probing one entry at a time until the failed batch is passed, then full batches resume', async () => {
    await walbox.namespaces.upsert({
      name: 'ledger',
      targets: ['p1'],
      partitions: 1,
      retry: RETRY,
      onExhausted: 'dead-letter',
    });
    const { poison, healthy } = await appendWithPoison('ledger');
    const { sink, calls, applied } = poisonSink('p1');
    await started(sink);
    await untilIsolated('p1', healthy, applied);

    const [letter, ...more] = await walbox.deadLetters.list({ target: 'p1' });
    expect(more).toEqual([]);
    expect(letter).toMatchObject({
      entryId: poison.id,
      key: 'k80',
      status: 'dead',
      attempts: RETRY.limit + 1,
    });
    expect(letter!.lastError).toContain('batch rejected');
    expect(applied.map((e) => e.id)).not.toContain(poison.id);
    expectPerKeyOrder(applied);

    // limit + 1 failures of the whole batch, then limit + 1 of the poison entry alone: not limit + 1 per
    // entry in front of it.
    const failed = calls.filter((c) => c.failed);
    expect(failed.length, 'failed apply calls').toBeLessThanOrEqual(FAILED_CALLS_BOUND);
    expect(failed.slice(0, RETRY.limit + 1).every((c) => c.ids.length === BATCH)).toBe(true);
    expectProbedAlone(calls, poison.id);

    // Past the failed batch, whole batches again.
    const seen = calls.length;
    const later = await appendInTransactions(
      Array.from({ length: 200 }, (_, i) => ({ namespace: 'ledger', key: `k${i % 120}`, op: 'upsert' })),
      BATCH,
    );
    const laterIds = new Set(later.map((e) => e.id));
    await until(() => later.every((e) => applied.some((a) => a.id === e.id)), 20_000, 'the later entries');
    const laterCalls = calls.slice(seen).filter((c) => c.ids.some((id) => laterIds.has(id)));
    expect(laterCalls.length).toBeLessThanOrEqual(4);
    expect(Math.max(...laterCalls.map((c) => c.ids.length))).toBe(BATCH);
    expect(calls.slice(seen).every((c) => !c.failed)).toBe(true);
    expectPerKeyOrder(applied);
  });

  it('keeps probing across a dispatcher restart in the middle of the failed batch', async () => {
    await walbox.namespaces.upsert({
      name: 'journal',
      targets: ['p2'],
      partitions: 1,
      retry: RETRY,
      onExhausted: 'dead-letter',
    });
    const { poison, healthy } = await appendWithPoison('journal');
    const { sink, calls, applied, state } = poisonSink('p2');
    // Twenty probes in, the next one is cut off by a stop.
    let probes = 0;
    state.hold = (batch) => batch.length === 1 && ++probes > 20;
    const first = await started(sink);
    await until(() => state.hold === undefined, 30_000, 'twenty probes');
    await first.stop();
    const beforeRestart = calls.length;
    expect(applied.map((e) => e.id)).not.toContain(poison.id);
    expect(await walbox.deadLetters.list({ target: 'p2' })).toEqual([]);
    // Stopped in the middle of the failed batch: the cursor says so, for whoever takes the partition next.
    const { rows } = await pool.query<{ probing: boolean }>(
      `select probe_until_id is not null as probing from "${schema}".cursors where target = 'p2'`,
    );
    expect(rows).toEqual([{ probing: true }]);

    await started(sink);
    await untilIsolated('p2', healthy, applied);

    const [letter] = await walbox.deadLetters.list({ target: 'p2' });
    expect(letter).toMatchObject({ entryId: poison.id, status: 'dead', attempts: RETRY.limit + 1 });
    expectPerKeyOrder(applied);
    // The new dispatcher went on probing where the first one stopped: no full batch before the poison
    // entry was dead-lettered, and no whole-batch failures beyond the first dispatcher's.
    const afterRestart = calls.slice(beforeRestart);
    const last = afterRestart.findLastIndex((c) => c.ids.includes(poison.id));
    expect(last).toBeGreaterThanOrEqual(0);
    const sizes = afterRestart.slice(0, last + 1).map((c) => c.ids.length);
    expect(
      sizes.filter((n) => n > 1),
      'batches offered before the poison entry was isolated',
    ).toEqual([]);
    expect(calls.filter((c) => c.failed).length, 'failed apply calls').toBeLessThanOrEqual(
      FAILED_CALLS_BOUND,
    );
  });

  it('probes a failed batch of parked and log entries: the parked ones alone first, then the log up to the batch end', async () => {
    const config = { name: 'mixed', targets: ['p3'], partitions: 1, onExhausted: 'dead-letter' as const };
    // Its first failure parks the poison entry for a retry 0.5 to 1 s later.
    await walbox.namespaces.upsert({
      ...config,
      retry: { ...RETRY, initialDelayMs: 1000, maxDelayMs: 1000 },
    });
    const { sink, calls, applied, state } = poisonSink('p3');
    state.failOnce = true;
    const [poison] = await walbox.appendMany(pool, [
      { namespace: 'mixed', key: 'm', op: 'upsert', payload: { poison: true } },
    ]);
    const first = await started(sink);
    await until(() => state.failOnce === false, 20_000, 'the first failure');
    await first.stop();
    // Appended while no dispatcher runs: the retry of the parked entry comes with the first 99 of them.
    const rest = await appendInTransactions(
      Array.from({ length: 150 }, (_, i) => ({ namespace: 'mixed', key: `m${i}`, op: 'upsert' })),
      BATCH - 1,
    );
    await walbox.namespaces.upsert({ ...config, retry: RETRY });
    await until(
      async () => {
        const { rows } = await pool.query<{ due: boolean }>(
          `select not_before <= clock_timestamp() as due from "${schema}".parked where target = 'p3'`,
        );
        return rows[0]?.due === true;
      },
      5000,
      'the retry to fall due',
    );
    const seen = calls.length;
    await started(sink);
    await untilIsolated('p3', rest, applied);

    const [letter] = await walbox.deadLetters.list({ target: 'p3' });
    // One failure the sink returned, then two alone while probing: the whole-batch failures do not count.
    expect(letter).toMatchObject({ entryId: poison!.id, status: 'dead', attempts: RETRY.limit + 1 });
    expect(letter!.lastError).toContain('batch rejected');
    expectPerKeyOrder(applied);
    const after = calls.slice(seen);
    const failedBatch = after[0]!;
    expect(failedBatch.ids).toEqual([poison!.id, ...rest.slice(0, BATCH - 1).map((e) => e.id)]);
    expect(after.slice(0, RETRY.limit + 1)).toEqual(Array(RETRY.limit + 1).fill(failedBatch));
    // The parked entry alone until dead-lettered, then each log entry of the failed batch alone, then the rest.
    const probes = after.slice(RETRY.limit + 1);
    const lastOfBatch = failedBatch.ids.at(-1)!;
    const end = probes.findIndex((c) => c.ids.includes(lastOfBatch));
    expect(probes.slice(0, RETRY.limit).map((c) => c.ids)).toEqual(Array(RETRY.limit).fill([poison!.id]));
    expect(probes.slice(RETRY.limit, end + 1).map((c) => c.ids)).toEqual(
      failedBatch.ids.slice(1).map((id) => [id]),
    );
    expect(probes.slice(end + 1).map((c) => c.ids)).toEqual([rest.slice(BATCH - 1).map((e) => e.id)]);
  });
});
