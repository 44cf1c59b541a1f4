import type { Sink, SinkEntry } from '@walbox/sink-kit';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { dispatcherCase } from './dispatcher-case.js';
import { context } from './entries.js';
import { failureCases } from './failure-cases.js';
import type { DescribeSinkOptions, SinkHarness } from './sink-harness.js';
import { storeCases } from './store-cases.js';
import { failedIds, type Suite } from './suite.js';

/**
 * The tests every sink passes against its real store (as River's driver test runs every driver): upserts and
 * deletes, the version guard against re-delivery and replays (tombstones included), per-key order within a
 * batch, idempotence, large batches, partial batch failure, an unreachable store, a store that goes down and
 * comes back (with `harness.outage`), and delivery under a real dispatcher (with `options.databaseUrl`).
 *
 * Call it at the top level of a test file. The harness should isolate what it writes (a random key prefix,
 * a database of its own) so runs against a shared server do not meet each other's versions.
 */
export function describeSink(
  name: string,
  harness: () => Promise<SinkHarness>,
  options: DescribeSinkOptions = {},
): void {
  describe.runIf(options.runIf ?? true)(`sink conformance: ${name}`, () => {
    let h: SinkHarness | undefined;
    let sink: Sink | undefined;
    let n = 0;

    beforeAll(async () => {
      h = await harness();
      sink = await h.create();
    });
    afterAll(async () => {
      await sink?.close?.();
      await h?.close();
    });

    const suite: Suite = {
      name,
      options: { convergeTimeoutMs: 30_000, ...options },
      harness: () => h!,
      sink: () => sink!,
      fresh: () => `ns${++n}`,
      async applyFailing(batch: SinkEntry[], target = sink!) {
        return failedIds(await target.apply(Object.freeze(batch), context(batch[0]?.namespace ?? 'none')));
      },
      async apply(batch, target) {
        expect(await suite.applyFailing(batch, target)).toEqual([]);
      },
      read: (namespace, key) => h!.read(namespace, key),
    };

    storeCases(suite);
    failureCases(suite);
    dispatcherCase(suite);
  });
}

/** describeSink, skipped (its harness never called) unless `condition` holds, like vitest's describe.runIf. */
describeSink.runIf =
  (condition: boolean) =>
  (name: string, harness: () => Promise<SinkHarness>, options: Omit<DescribeSinkOptions, 'runIf'> = {}) =>
    describeSink(name, harness, { ...options, runIf: condition });
