import type { SinkEntry } from '@walbox/sink-kit';
import { describe, expect, it } from 'vitest';
import { defaultFields, planStreamCalls, streamFrom } from '../src/redis-stream-plan.js';

const e = (id: string, key: string, namespace = 'ns'): SinkEntry => ({
  id,
  namespace,
  key,
  op: 'upsert',
  payload: Number(id),
});
const options = {
  streamOf: streamFrom('s:{namespace}'),
  guardSuffix: ':g',
  fieldsOf: (x: SinkEntry) => ({ id: x.id }),
};

describe('planStreamCalls', () => {
  it('makes one call per stream, with its entries in log order', () => {
    const { calls, failed } = planStreamCalls(
      [e('1', 'a'), e('2', 'b'), e('3', 'a'), e('4', 'a', 'other')],
      options,
    );
    expect(failed).toEqual([]);
    expect(calls.map((c) => [c.stream, c.guard, c.entries.map((x) => x.id)])).toEqual([
      ['s:ns', 's:ns:g', ['1', '2', '3']],
      ['s:other', 's:other:g', ['4']],
    ]);
    expect(calls[0]!.argv).toEqual([
      '3',
      ...['ns\u0000a', '1', '1', 'id', '1'],
      ...['ns\u0000b', '2', '1', 'id', '2'],
      ...['ns\u0000a', '3', '1', 'id', '3'],
    ]);
  });

  it('fails an entry it cannot plan and the later entries of its key; earlier ones still go', () => {
    const { calls, failed } = planStreamCalls([e('1', 'a'), e('x2', 'a'), e('3', 'a'), e('4', 'b')], options);
    expect(calls.map((c) => c.entries.map((x) => x.id))).toEqual([['1', '4']]);
    expect(failed.map((f) => [f.id, String(f.error)])).toEqual([
      ['x2', expect.stringMatching(/not a bigint/)],
      ['3', expect.stringMatching(/entry x2 of its key failed before it/)],
    ]);
  });

  it('refuses a key whose entries would go to two streams', () => {
    const byOp = { ...options, streamOf: (x: SinkEntry) => `s:${x.id}` };
    const { failed } = planStreamCalls([e('1', 'a'), e('2', 'a')], byOp);
    expect(String(failed[0]?.error)).toMatch(/goes to stream s:2, earlier ones of its key to s:1/);
  });
});

describe('streams and fields', () => {
  it('renders templates and functions', () => {
    expect(streamFrom('walbox:{namespace}:{key}')(e('1', 'k'))).toBe('walbox:ns:k');
    expect(streamFrom(({ namespace }) => `x-${namespace}`)(e('1', 'k'))).toBe('x-ns');
  });

  it('carries id, namespace, key, op, xid, payload and headers by default', () => {
    expect(defaultFields({ ...e('7', 'k'), xid: '99', headers: { traceparent: 't' } })).toEqual({
      id: '7',
      namespace: 'ns',
      key: 'k',
      op: 'upsert',
      xid: '99',
      payload: '7',
      headers: '{"traceparent":"t"}',
    });
    expect(defaultFields({ ...e('7', 'k'), op: 'delete', payload: undefined })).not.toHaveProperty('headers');
  });
});
