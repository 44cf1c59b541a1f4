import { describe, expect, it } from 'vitest';
import type { DispatcherEvents, Entry } from '../../src/index.js';
import { isolatedWalbox } from '../support/db.js';
import { FAST, stopAfterEach } from '../support/dispatchers.js';
import { RecordingSink, until } from '../support/recording-sink.js';

const { pool, walbox } = await isolatedWalbox('isolation');
// Enough retries that nothing exhausts while a test holds a target down.
const PATIENT = { limit: 100, initialDelayMs: 50, maxDelayMs: 200 };
const running = stopAfterEach();

async function started(sinks: Record<string, RecordingSink>) {
  const d = walbox.dispatcher({ sinks, ...FAST });
  running.push(d);
  const batchFailed: DispatcherEvents['batch-failed'][0][] = [];
  const retried: DispatcherEvents['retried'][0][] = [];
  const deadLettered: DispatcherEvents['dead-lettered'][0][] = [];
  d.on('batch-failed', (e) => batchFailed.push(e));
  d.on('retried', (e) => retried.push(e));
  d.on('dead-lettered', (e) => deadLettered.push(e));
  await d.start();
  return { batchFailed, retried, deadLettered };
}

const byId = (x: string, y: string) => (BigInt(x) < BigInt(y) ? -1 : BigInt(x) > BigInt(y) ? 1 : 0);
const ids = (entries: readonly Entry[]) => entries.map((e) => e.id);
const has = (sink: RecordingSink, entries: readonly Entry[]) =>
  entries.every((e) => sink.ids().includes(e.id));

/** Each entry exactly once, and per key in log order. */
function expectExactlyInOrder(sink: RecordingSink, entries: readonly Entry[]) {
  expect([...sink.ids()].sort(byId)).toEqual(ids(entries).sort(byId));
  for (const [key, keyIds] of sink.byKey()) expect(keyIds, `key ${key}`).toEqual([...keyIds].sort(byId));
}

function entries(namespace: string, n: number, keys: number, payload: object = {}) {
  return Array.from({ length: n }, (_, i) => ({
    namespace,
    key: `k${i % keys}`,
    op: 'upsert',
    payload: { i, ...payload },
  }));
}

describe('failure isolation', () => {
  it('a target that is down holds back nothing of the other targets of the same entries', async () => {
    await walbox.namespaces.upsert({ name: 'catalog', targets: ['ia', 'ib'], partitions: 2, retry: PATIENT });
    const a = new RecordingSink('ia');
    const b = new RecordingSink('ib');
    let aDown = true;
    a.fault = () => (aDown ? new Error('ia: connection refused') : undefined);
    const { batchFailed, retried, deadLettered } = await started({ ia: a, ib: b });

    const appended = await walbox.appendMany(pool, entries('catalog', 20, 5));
    await until(() => batchFailed.length > 0, 20_000, 'target ia to fail');
    appended.push(...(await walbox.appendMany(pool, entries('catalog', 10, 5, { late: true }))));
    await until(() => has(b, appended), 20_000, 'target ib to get everything');
    expect(a.applied).toEqual([]);
    expect(batchFailed.every((f) => f.target === 'ia' && f.namespace === 'catalog')).toBe(true);

    aDown = false;
    await until(() => has(a, appended), 30_000, 'target ia to catch up');
    expectExactlyInOrder(a, appended);
    // ib saw each entry once: ia's retries re-offer to ia only.
    expectExactlyInOrder(b, appended);
    expect(retried).toEqual([]);
    expect(deadLettered).toEqual([]);
  });

  it("an entry failing at one target holds back only its key at that target, and not the other target's copy", async () => {
    await walbox.namespaces.upsert({ name: 'search', targets: ['ja', 'jb'], retry: PATIENT });
    const a = new RecordingSink('ja');
    const b = new RecordingSink('jb');
    let healed = false;
    a.fault = (batch) => {
      const bad = batch.find((e) => e.key === 'doc-1' && !healed);
      return bad ? { failed: [{ id: bad.id, error: new Error('mapping conflict') }] } : undefined;
    };
    const { retried } = await started({ ja: a, jb: b });
    const first = await walbox.appendMany(pool, [
      { namespace: 'search', key: 'doc-1', op: 'upsert', payload: 1 },
      { namespace: 'search', key: 'doc-2', op: 'upsert', payload: 1 },
      { namespace: 'search', key: 'doc-1', op: 'upsert', payload: 2 },
    ]);
    await until(() => retried.length > 0, 20_000, 'the first failure');
    // One partition: once doc-2's second entry is through at ja, doc-1's later one has been read there too.
    const second = await walbox.appendMany(pool, [
      { namespace: 'search', key: 'doc-1', op: 'upsert', payload: 3 },
      { namespace: 'search', key: 'doc-2', op: 'upsert', payload: 2 },
    ]);
    const all = [...first, ...second];
    await until(() => has(b, all), 20_000, 'jb to get everything');
    await until(() => has(a, [first[1]!, second[1]!]), 20_000, 'ja to get doc-2');
    expect(a.byKey().get('doc-1')).toBeUndefined();
    expect(retried.every((r) => r.target === 'ja' && r.entry.key === 'doc-1')).toBe(true);

    healed = true;
    await until(() => has(a, all), 30_000, 'ja to catch up');
    expectExactlyInOrder(a, all);
    expectExactlyInOrder(b, all);
    expect(a.byKey().get('doc-1')).toEqual(ids(all.filter((e) => e.key === 'doc-1')));
  });

  it('failures in one namespace never hold back another, not even for the same key and target', async () => {
    await walbox.namespaces.upsert({ name: 'left', targets: ['ic'], retry: PATIENT, onExhausted: 'block' });
    await walbox.namespaces.upsert({ name: 'down', targets: ['ic'], retry: PATIENT });
    await walbox.namespaces.upsert({ name: 'right', targets: ['ic'], retry: PATIENT });
    const sink = new RecordingSink('ic');
    sink.fault = (batch, ctx) => {
      if (ctx.namespace === 'down') return new Error('down: whole batch rejected');
      if (ctx.namespace !== 'left') return undefined;
      const bad = batch.find((e) => e.key === 'k0');
      return bad ? { failed: [{ id: bad.id, error: new Error('left: k0 rejected') }] } : undefined;
    };
    const { batchFailed, retried } = await started({ ic: sink });

    const left = await walbox.appendMany(pool, entries('left', 6, 2));
    await walbox.appendMany(pool, entries('down', 6, 2));
    await until(() => batchFailed.length > 0 && retried.length > 0, 20_000, 'both failures');
    // Same keys, same target, appended after the others started failing.
    const right = await walbox.appendMany(pool, entries('right', 12, 2));
    await until(() => has(sink, right), 20_000, "namespace right's entries");
    const rightSeen = sink.applied.filter((e) => e.namespace === 'right');
    expect(ids(rightSeen).sort(byId)).toEqual(ids(right));
    for (const key of ['k0', 'k1']) {
      expect(ids(rightSeen.filter((e) => e.key === key))).toEqual(ids(right.filter((e) => e.key === key)));
    }
    // In the failing namespaces: 'left' still delivers its other key; 'down' nothing.
    await until(
      () =>
        has(
          sink,
          left.filter((e) => e.key === 'k1'),
        ),
      20_000,
      "left's healthy key",
    );
    expect(sink.applied.filter((e) => e.namespace === 'left' && e.key === 'k0')).toEqual([]);
    expect(sink.applied.filter((e) => e.namespace === 'down')).toEqual([]);
    expect(new Set(batchFailed.map((f) => f.namespace))).toEqual(new Set(['down']));
    expect(new Set(retried.map((r) => `${r.entry.namespace}/${r.entry.key}`))).toEqual(new Set(['left/k0']));
  });
});
