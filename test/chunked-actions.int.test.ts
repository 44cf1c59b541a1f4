// Replay, redrive and discard in several chunks (the CLI's progress comes from their onProgress): the same
// rows as in one, and the counts reported after each chunk.
import { describe, expect, it } from 'vitest';
import { isolatedWalbox } from './support/db.js';
import { FAST } from './support/dispatchers.js';
import { parkedIds } from './support/entries.js';
import { RecordingSink, until } from './support/recording-sink.js';

const { pool, walbox, schema } = await isolatedWalbox('chunked-actions');

describe('chunked operator actions', () => {
  it('replays a range chunk by chunk: every entry once, progress after each chunk', async () => {
    const count = 11;
    const chunkSize = 3;
    await walbox.namespaces.upsert({ name: 'users', targets: ['cache'], partitions: 2 });
    const entries = await walbox.appendMany(
      pool,
      Array.from({ length: count }, (_, i) => ({
        namespace: 'users',
        key: `k${i % 4}`,
        op: 'upsert',
        payload: i,
      })),
    );
    const ids = entries.map((e) => e.id);
    const excluded = ids[6]!;
    const calls: Array<[number, number]> = [];
    const queued = await walbox.replay({
      namespace: 'users',
      target: 'cache',
      from: ids[1]!,
      exclude: [excluded],
      chunkSize,
      onProgress: (done, total) => calls.push([done, total]),
    });
    const expected = ids.slice(1).filter((id) => id !== excluded);
    expect(queued).toBe(expected.length);
    expect(await parkedIds(pool, schema, 'users', 'cache')).toEqual(expected);
    const total = expected.length;
    const steps = [0];
    for (let done = chunkSize; done < total; done += chunkSize) steps.push(done);
    steps.push(total);
    expect(calls).toEqual(steps.map((done) => [done, total]));

    const none = await walbox.replay({ namespace: 'users', target: 'cache', from: ids[1]!, chunkSize });
    expect(none).toBe(1); // only the excluded one was not queued yet
    await expect(
      walbox.replay({ namespace: 'users', target: 'cache', from: ids[0]!, chunkSize: 0 }),
    ).rejects.toMatchObject({ code: 'INVALID_CONFIG', field: 'chunkSize' });
  });

  it('redrives and discards dead letters chunk by chunk, oldest entry first', async () => {
    const count = 7;
    await walbox.namespaces.upsert({
      name: 'payments',
      targets: ['ledger'],
      retry: { limit: 0, initialDelayMs: 20, maxDelayMs: 50 },
      onExhausted: 'dead-letter',
    });
    const entries = await walbox.appendMany(
      pool,
      Array.from({ length: count }, (_, i) => ({
        namespace: 'payments',
        key: `p${i}`,
        op: 'upsert',
        payload: i,
      })),
    );
    const sink = new RecordingSink('ledger');
    sink.fault = (batch) => ({ failed: batch.map((e) => ({ id: e.id, error: new Error('closed') })) });
    const d = walbox.dispatcher({ sinks: { ledger: sink }, ...FAST });
    await d.start();
    try {
      await until(
        async () => (await walbox.deadLetters.list({ namespace: 'payments' })).length === count,
        30_000,
        `${count} dead letters`,
      );
    } finally {
      await d.stop();
    }
    const letters = await walbox.deadLetters.list({ namespace: 'payments' });
    const discarded = letters.slice(0, 2).map((l) => l.id);

    const discardCalls: Array<[number, number]> = [];
    const n = await walbox.deadLetters.discard(discarded, {
      chunkSize: 1,
      onProgress: (done, total) => discardCalls.push([done, total]),
    });
    expect(n).toBe(discarded.length);
    expect(discardCalls).toEqual([
      [0, 2],
      [1, 2],
      [2, 2],
    ]);

    const redriveCalls: Array<[number, number]> = [];
    const redriven = await walbox.deadLetters.redrive(
      { namespace: 'payments' },
      { chunkSize: 2, onProgress: (done, total) => redriveCalls.push([done, total]) },
    );
    const rest = count - discarded.length;
    expect(redriven).toBe(rest);
    expect(redriveCalls.at(0)).toEqual([0, rest]);
    expect(redriveCalls.at(-1)).toEqual([rest, rest]);
    expect(redriveCalls).toHaveLength(1 + Math.ceil(rest / 2));
    expect(await parkedIds(pool, schema, 'payments', 'ledger')).toEqual(
      entries.slice(discarded.length).map((e) => e.id),
    );
    expect(await walbox.deadLetters.list({ namespace: 'payments' })).toEqual([]);
  });
});
