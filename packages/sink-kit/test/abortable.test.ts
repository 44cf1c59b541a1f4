import { describe, expect, it } from 'vitest';
import { abortable } from '../src/index.js';

describe('abortable', () => {
  it('passes the result through without a signal or before an abort', async () => {
    await expect(abortable(Promise.resolve(1), undefined)).resolves.toBe(1);
    await expect(abortable(Promise.resolve(2), new AbortController().signal)).resolves.toBe(2);
  });

  it('rejects with the reason when the signal aborts first, or has aborted already', async () => {
    const c = new AbortController();
    const pending = abortable(new Promise(() => {}), c.signal);
    c.abort(new Error('stopping'));
    await expect(pending).rejects.toThrow('stopping');
    await expect(abortable(Promise.resolve(3), c.signal)).rejects.toThrow('stopping');
  });
});
