import { describe, expect, it } from 'vitest';
import { checkSubject, HEADER, headerValues, subjectFrom } from '../src/nats-message.js';

const e = { id: '42', namespace: 'orders', key: 'o-1', op: 'upsert', payload: {}, xid: '777' };

describe('subjects', () => {
  it.each([
    ['{namespace}.{key}', 'orders.o-1'],
    ['walbox.{namespace}.{op}.{key}', 'walbox.orders.upsert.o-1'],
    ['fixed', 'fixed'],
  ])('%s renders %s', (template, subject) => {
    expect(subjectFrom(template)(e)).toBe(subject);
  });

  it('takes a function', () => {
    expect(subjectFrom((x) => `x.${x.id}`)(e)).toBe('x.42');
  });

  it.each(['', 'a..b', 'a.*', 'a.>', 'a b', '.a', 'a.'])('refuses %j', (subject) => {
    expect(() => checkSubject(subject)).toThrow(TypeError);
  });

  it('fails an entry whose key makes a subject it cannot publish to', () => {
    expect(() => subjectFrom('{namespace}.{key}')({ ...e, key: 'has space' })).toThrow(
      /not a valid NATS subject/,
    );
  });
});

describe('headers', () => {
  it('carry namespace, key, op, entry id and xid', () => {
    expect(headerValues(e)).toEqual([
      [HEADER.namespace, 'orders'],
      [HEADER.key, 'o-1'],
      [HEADER.op, 'upsert'],
      [HEADER.entryId, '42'],
      [HEADER.xid, '777'],
    ]);
  });

  it('carry the trace context when the entry has one', () => {
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const values = headerValues({ ...e, headers: { traceparent, tracestate: 'a=1', other: 'x' } });
    expect(values.slice(-2)).toEqual([
      ['traceparent', traceparent],
      ['tracestate', 'a=1'],
    ]);
  });

  it('refuse a line break in a value', () => {
    expect(() => headerValues({ ...e, key: 'a\r\nb' })).toThrow(TypeError);
  });
});
