import { describe, expect, it } from 'vitest';
import { lastPerKey, type SinkAction } from '../src/index.js';

const e = (id: string, key: string, op = 'upsert', namespace = 'ns') => ({ id, namespace, key, op });
const ids = (plan: ReturnType<typeof lastPerKey>) =>
  plan.commands.map((c) => [c.first.id, c.last.id, c.action]);

describe('lastPerKey', () => {
  it('keeps one command per (namespace, key): its first entry and its last, with the last action', () => {
    const plan = lastPerKey([
      e('1', 'a'),
      e('2', 'b'),
      e('3', 'a', 'delete'),
      e('4', 'a'),
      e('5', 'b', 'delete'),
      e('6', 'a', 'upsert', 'other'),
    ]);
    expect(ids(plan)).toEqual([
      ['1', '4', 'upsert'],
      ['2', '5', 'delete'],
      ['6', '6', 'upsert'],
    ]);
    expect(plan.failed).toEqual([]);
  });

  it('skips entries whose op is neither upsert nor delete, by default', () => {
    const plan = lastPerKey([e('1', 'a'), e('2', 'a', 'touch'), e('3', 'b', 'touch')]);
    expect(ids(plan)).toEqual([['1', '1', 'upsert']]);
  });

  it('fails a key from its first planned entry on when an entry has a bad id, and keeps other keys', () => {
    const plan = lastPerKey([e('1', 'a'), e('2', 'b'), e('03', 'a'), e('4', 'a'), e('5', 'b')]);
    expect(ids(plan)).toEqual([['2', '5', 'upsert']]);
    expect(plan.failed).toEqual([{ id: '1', error: expect.any(TypeError) }]);
  });

  it('fails the entry itself when it is the first of its key, and names actionOf errors', () => {
    const boom = new Error('boom');
    const actionOf = (x: { id: string; op: string }): SinkAction => {
      if (x.id === '2') throw boom;
      return x.op === 'delete' ? 'delete' : 'upsert';
    };
    const plan = lastPerKey([e('1', 'a'), e('2', 'b'), e('3', 'b'), e('4', 'a', 'delete')], actionOf);
    expect(ids(plan)).toEqual([['1', '4', 'delete']]);
    expect(plan.failed).toEqual([{ id: '2', error: boom }]);
  });

  it('returns nothing for an empty batch', () => {
    expect(lastPerKey([])).toEqual({ commands: [], failed: [] });
  });
});
