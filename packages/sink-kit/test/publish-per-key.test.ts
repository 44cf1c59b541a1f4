import type { SinkEntry } from '@walbox/sink-kit';
import { describe, expect, it } from 'vitest';
import { publishPerKey } from '../src/publish-per-key.js';

const entry = (id: number, key: string): SinkEntry => ({
  id: String(id),
  namespace: 'ns',
  key,
  op: 'upsert',
  payload: id,
});
const refused = new Error('refused');
const lost = new Error('connection lost');
const classify = (e: unknown) => (e === lost ? 'batch' : 'entry');

/** Runs publishPerKey with a publish that fails the ids in `fail` (with the error given) and records the rest. */
async function run(batch: SinkEntry[], fail: Record<string, Error> = {}, concurrency = 4) {
  const published: string[] = [];
  const result = await publishPerKey(batch, {
    concurrency,
    classify,
    publish: async (e) => {
      await new Promise((r) => setTimeout(r, Number(e.id) % 3)); // keys finish in different orders
      if (fail[e.id]) throw fail[e.id];
      published.push(e.id);
    },
  }).then(
    (failed) => ({ failed: failed.map((f) => [f.id, f.error === refused ? 'refused' : 'behind']) }),
    (error: unknown) => ({ thrown: error }),
  );
  return { published, ...result };
}

describe('publishPerKey', () => {
  const batch = [entry(1, 'a'), entry(2, 'b'), entry(3, 'a'), entry(4, 'c'), entry(5, 'a'), entry(6, 'b')];

  it.each<{ name: string; fail: Record<string, Error>; failed: string[][]; notPublished: string[] }>([
    { name: 'publishes everything, each key in order', fail: {}, failed: [], notPublished: [] },
    {
      name: 'a refused entry fails itself and the later entries of its key; other keys go on',
      fail: { '3': refused },
      failed: [
        ['3', 'refused'],
        ['5', 'behind'],
      ],
      notPublished: ['3', '5'],
    },
    {
      name: 'the first entry of a key refused: the whole key fails',
      fail: { '2': refused },
      failed: [
        ['2', 'refused'],
        ['6', 'behind'],
      ],
      notPublished: ['2', '6'],
    },
  ])('$name', async ({ fail, failed, notPublished }) => {
    const r = await run(batch, fail);
    expect(r).toMatchObject({ failed });
    const expected = batch.map((e) => e.id).filter((id) => !notPublished.includes(id));
    expect([...r.published].sort()).toEqual(expected);
    for (const key of ['a', 'b', 'c']) {
      const ids = batch.filter((e) => e.key === key && r.published.includes(e.id)).map((e) => e.id);
      expect(r.published.filter((id) => ids.includes(id))).toEqual(ids);
    }
  });

  it('throws a batch error once the publishes in flight settled, and starts nothing after it', async () => {
    const r = await run(batch, { '1': lost }, 1);
    expect(r).toMatchObject({ thrown: lost, published: [] });
    const wide = await run(batch, { '3': lost }, 3);
    expect(wide).toMatchObject({ thrown: lost });
    expect(wide.published).not.toContain('5'); // after 3 in its key
  });

  it('with one at a time, publishes keys one after the other', async () => {
    const r = await run(batch, {}, 1);
    expect(r.published).toEqual(['1', '3', '5', '2', '6', '4']);
  });

  it('stops when the signal aborts, throwing its reason', async () => {
    const controller = new AbortController();
    const reason = new Error('stopping');
    const published: string[] = [];
    const done = publishPerKey(batch, {
      concurrency: 1,
      classify,
      signal: controller.signal,
      publish: async (e) => {
        published.push(e.id);
        if (e.id === '3') controller.abort(reason);
      },
    });
    await expect(done).rejects.toBe(reason);
    expect(published).toEqual(['1', '3']);
  });
});
