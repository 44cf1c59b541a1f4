// A dispatcher runs at most `concurrency` drains at once; with more partitions than that, a drain that has
// gone idle lets its partition go as soon as another partition's drain job waits for its slot, instead of
// holding the slot for idleReleaseMs (src/dispatch/drain-queue.ts, waiting()).
import { describe, expect, it } from 'vitest';
import { isolatedWalbox } from '../support/db.js';
import { stopAfterEach } from '../support/dispatchers.js';
import { keyInPartition } from '../support/entries.js';
import { RecordingSink, until } from '../support/recording-sink.js';

const { pool, walbox } = await isolatedWalbox('slots');
const running = stopAfterEach();

describe('drain slots', () => {
  it('an idle drain gives its slot to a waiting partition long before idleReleaseMs', async () => {
    const partitions = 4;
    await walbox.namespaces.upsert({ name: 'slots', targets: ['s'], partitions });
    const keys = await Promise.all(
      Array.from({ length: partitions }, (_, p) => keyInPartition(pool, walbox.schema, partitions, p)),
    );
    const sink = new RecordingSink('s');
    // One slot; a drain with nothing to do would keep it for a minute.
    const d = walbox.dispatcher({
      sinks: { s: sink },
      concurrency: 1,
      idleReleaseMs: 60_000,
      maxDrainMs: 60_000,
      leaseMs: 120_000,
      superviseMs: 1000,
    });
    running.push(d);
    await d.start();
    const appended: { id: string }[] = [];
    for (const key of keys) {
      appended.push(await walbox.append(pool, { namespace: 'slots', key, op: 'upsert', payload: key }));
    }
    // Without the early release: one partition, then a minute per partition.
    await until(
      () => appended.every((e) => sink.ids().includes(e.id)),
      15_000,
      'one entry in each of the 4 partitions, through one slot',
    );
    expect(new Set(sink.applied.map((e) => e.partition))).toEqual(new Set([0, 1, 2, 3]));
  });
});
