import { describe, expect, it } from 'vitest';
import type { BatchResult, DispatcherEvents, Entry, Sink } from '../../src/index.js';
import { isolatedWalbox } from '../support/db.js';
import { FAST, stopAfterEach } from '../support/dispatchers.js';
import { until } from '../support/recording-sink.js';

const { pool, walbox, schema } = await isolatedWalbox('sink-misbehaviour');
const running = stopAfterEach();

/** What a misbehaving sink does with one batch: throw a value, return a value, hang, or apply it. */
type Act = { throws: unknown } | { returns: unknown } | 'hang' | 'apply';

/**
 * A sink that does what `act` says, and otherwise applies: it records the entries it applied (all of the
 * batch's, also when it then returns a malformed result: it did write them), keeping the last payload per key.
 */
class MisbehavingSink implements Sink {
  readonly applied: Entry[] = [];
  calls = 0;
  constructor(
    readonly name: string,
    private readonly act: (batch: readonly Entry[], call: number) => Act,
  ) {}

  apply(batch: readonly Entry[]): Promise<void | BatchResult> {
    const act = this.act(batch, ++this.calls);
    if (act === 'hang') return new Promise(() => {}); // ignores its abort signal too
    if (typeof act === 'object' && 'throws' in act) return Promise.reject(act.throws);
    this.applied.push(...batch);
    return Promise.resolve(act === 'apply' ? undefined : (act.returns as BatchResult));
  }

  last(key: string): unknown {
    return this.applied.findLast((e) => e.key === key)?.payload;
  }
}

async function run(
  name: string,
  sink: MisbehavingSink,
  options: { applyTimeoutMs?: number } = {},
  limit = 2,
) {
  await walbox.namespaces.upsert({
    name,
    targets: [sink.name],
    retry: { limit, initialDelayMs: 20, maxDelayMs: 100 },
  });
  const d = walbox.dispatcher({ sinks: { [sink.name]: sink }, ...FAST, ...options });
  running.push(d);
  const errors: Error[] = [];
  const batchFailed: DispatcherEvents['batch-failed'][0][] = [];
  const dead: DispatcherEvents['dead-lettered'][0][] = [];
  d.on('error', (err) => errors.push(err));
  d.on('batch-failed', (e) => batchFailed.push(e));
  d.on('dead-lettered', (e) => dead.push(e));
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  await d.start();
  const append = async (keys: string[], payload: unknown) => {
    const client = await pool.connect();
    try {
      await client.query('begin');
      const out = [];
      for (const key of keys)
        out.push(await walbox.append(client, { namespace: name, key, op: 'upsert', payload }));
      await client.query('commit');
      return out;
    } finally {
      client.release();
    }
  };
  const finish = () => process.off('unhandledRejection', onUnhandled);
  return { d, errors, batchFailed, dead, unhandled, append, finish };
}

async function deadLetters(target: string) {
  const { rows } = await pool.query<{ key: string; last_error: string; status: string }>(
    `select key, last_error, status from "${schema}".dead_letters where target = $1 order by entry_id`,
    [target],
  );
  return rows;
}

const NULL_PROTO = Object.create(null) as object;
const { proxy: REVOKED } = Proxy.revocable({}, {});
const THROWING_TO_STRING = {
  toString() {
    throw new Error('no');
  },
  toJSON() {
    throw new Error('no');
  },
};
const CYCLE: { self?: unknown } = {};
CYCLE.self = CYCLE;

describe('a sink that misbehaves', () => {
  it('throwing non-Error values: each is a typed batch failure, retried, and every entry arrives', async () => {
    const thrown: unknown[] = [
      'a string',
      undefined,
      null,
      42,
      NULL_PROTO,
      CYCLE,
      THROWING_TO_STRING,
      Symbol('s'),
      10n,
    ];
    // Revoked last: describing a revoked proxy must not throw either.
    const values = [...thrown, REVOKED];
    const sink = new MisbehavingSink('throws', (_, call) =>
      call <= values.length ? { throws: values[call - 1] } : 'apply',
    );
    const t = await run('throwing', sink, {}, 20);
    const entries = await t.append(['a', 'b', 'c'], 1);
    await until(() => entries.every((e) => sink.applied.some((a) => a.id === e.id)), 30_000, 'every entry');
    t.finish();
    expect(sink.calls).toBeGreaterThan(values.length);
    expect(t.batchFailed.length).toBeGreaterThan(0);
    expect(t.errors).toEqual([]);
    expect(t.unhandled).toEqual([]);
    expect(await deadLetters('throws')).toEqual([]);
  });

  it.each([
    ['undefined', undefined, 'undefined'],
    ['an object without prototype', NULL_PROTO, '{}'],
  ])(
    'throwing %s forever: the entry is dead-lettered with a typed, readable error, none lost',
    async (label, value, shown) => {
      const target = `throws-forever-${label.length}`;
      const sink = new MisbehavingSink(target, (batch) =>
        batch.some((e) => e.key === 'poison') ? { throws: value } : 'apply',
      );
      const t = await run(target, sink);
      const [poison] = await t.append(['poison'], 'p');
      const others = await t.append(['x', 'y'], 'o');
      await until(async () => (await deadLetters(target)).length === 1, 30_000, 'the poison dead-lettered');
      await until(() => others.every((e) => sink.applied.some((a) => a.id === e.id)), 30_000, 'the others');
      t.finish();
      const [row] = await deadLetters(target);
      expect(row).toMatchObject({ key: 'poison', status: 'dead' });
      expect(row!.last_error).toBe(`SinkThrewError: sink "${target}" threw a non-Error value: ${shown}`);
      expect(t.dead.map((d) => d.entry.id)).toEqual([poison!.id]);
      expect(t.errors).toEqual([]);
      expect(t.unhandled).toEqual([]);
    },
  );

  it('malformed BatchResults fail the batch with SINK_BAD_RESULT; the batch is offered again and nothing is lost', async () => {
    const results: Array<(batch: readonly Entry[]) => unknown> = [
      () => ({ failed: [{ id: '999999999', error: new Error('not offered') }] }),
      (b) => ({ failed: [{ id: Number(b[0]!.id), error: new Error('number id') }] }),
      () => ({ failed: 'everything' }),
      () => 42,
      () => ({ failed: [null] }),
      (b) => ({
        failed: [
          { id: b[0]!.id, error: 'x' },
          { id: b[0]!.id, error: 'x' },
        ],
      }),
      () => 'ok',
    ];
    const sink = new MisbehavingSink('malformed', (batch, call) =>
      call <= results.length ? { returns: results[call - 1]!(batch) } : 'apply',
    );
    const t = await run('malformed', sink, {}, 20);
    const entries = await t.append(['a', 'b', 'a'], 'v1');
    const later = await t.append(['a'], 'v2');
    await until(
      () =>
        [...entries, ...later].every((e) => sink.applied.some((a) => a.id === e.id)) &&
        sink.calls > results.length,
      30_000,
      'every entry',
    );
    await until(() => sink.last('a') === 'v2', 10_000, 'the last value of a');
    t.finish();
    expect(t.batchFailed.length).toBeGreaterThanOrEqual(1);
    expect(t.errors).toEqual([]);
    expect(t.unhandled).toEqual([]);
  });

  it('a result naming an entry of another batch for one entry, always: that entry is dead-lettered, its key moves on', async () => {
    const sink = new MisbehavingSink('bad-ids', (batch) =>
      batch.some((e) => e.key === 'liar')
        ? { returns: { failed: [{ id: '1', error: new Error('?') }] } }
        : 'apply',
    );
    const t = await run('bad-ids', sink);
    await t.append(['liar'], 1);
    const after = await t.append(['liar', 'honest'], 2);
    await until(async () => (await deadLetters('bad-ids')).length >= 1, 30_000, 'the liar dead-lettered');
    t.finish();
    const rows = await deadLetters('bad-ids');
    expect(rows[0]!.last_error).toMatch(
      /^SinkResultError: sink "bad-ids" returned a malformed BatchResult \(failed\[0\]\.id "1" was not offered\)/,
    );
    expect(t.errors).toEqual([]);
    // Every entry of the batches that held no liar got through.
    await until(() => sink.applied.some((a) => a.id === after[1]!.id), 30_000, 'the honest entry');
  });

  it('a sink that hangs past applyTimeoutMs: a SINK_TIMEOUT batch failure, then the batch is offered again', async () => {
    const sink = new MisbehavingSink('hangs', (_, call) => (call <= 2 ? 'hang' : 'apply'));
    const t = await run('hangs', sink, { applyTimeoutMs: 300 }, 20);
    const entries = await t.append(['a', 'b'], 1);
    await until(() => entries.every((e) => sink.applied.some((a) => a.id === e.id)), 30_000, 'every entry');
    t.finish();
    expect(t.batchFailed.length).toBeGreaterThanOrEqual(2);
    expect(t.errors).toEqual([]);
    expect(t.unhandled).toEqual([]);
  });

  it('a sink that hangs forever on one entry: it is dead-lettered with the timeout, the rest flows', async () => {
    const sink = new MisbehavingSink('hangs-forever', (batch) =>
      batch.some((e) => e.key === 'stuck') ? 'hang' : 'apply',
    );
    const t = await run('hangs-forever', sink, { applyTimeoutMs: 200 });
    await t.append(['stuck'], 1);
    const others = await t.append(['free'], 2);
    await until(
      async () => (await deadLetters('hangs-forever')).length === 1,
      60_000,
      'the stuck entry dead-lettered',
    );
    await until(() => others.every((e) => sink.applied.some((a) => a.id === e.id)), 30_000, 'the others');
    t.finish();
    expect((await deadLetters('hangs-forever'))[0]!.last_error).toBe(
      'SinkTimeoutError: sink "hangs-forever" did not finish a batch within 200 ms',
    );
    expect(t.errors).toEqual([]);
  });

  it('a sink that rewrites the entries it is given changes nothing walbox records', async () => {
    const offered: string[] = [];
    let first = true;
    const sink = new MisbehavingSink('rewrites', (batch) => {
      const ids = batch.map((e) => e.id);
      offered.push(...ids);
      for (const e of batch) Object.assign(e, { id: '1', key: 'other' });
      if (!first) return 'apply';
      first = false;
      return { returns: { failed: [{ id: ids[0], error: new Error('try again') }] } };
    });
    const t = await run('rewrites', sink, {}, 20);
    const [a, b] = await t.append(['a', 'b'], 1);
    // The failed entry is offered again: walbox judged the ids it read, not the ones the sink wrote over.
    await until(() => offered.filter((id) => id === a!.id).length === 2, 30_000, 'the failed entry again');
    expect(offered.filter((id) => id === b!.id)).toHaveLength(1);
    t.finish();
    expect(t.errors).toEqual([]);
  });
});
