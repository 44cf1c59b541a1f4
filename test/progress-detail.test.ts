// Progress with a detail (status --watch's pending per target), cut to a terminal's width, and abandoned.
import { describe, expect, it } from 'vitest';
import { Progress } from '../src/observability/progress.js';

function progress(stream: { isTTY?: boolean; columns?: number }, json = false) {
  let now = 0;
  const out: string[] = [];
  const p = new Progress({
    label: 'delivered',
    json,
    intervalMs: 0,
    now: () => now,
    stream: { ...stream, write: (t: string) => out.push(t) },
  });
  return { p, out, tick: (ms: number) => (now += ms) };
}

const detail = (pending: number) => ({
  text: `pending ${pending}  users/cache ${pending}`,
  fields: { pending, targets: [{ namespace: 'users', target: 'cache', pending }] },
});

describe('Progress detail', () => {
  it('follows the rate on a line and joins the NDJSON object', () => {
    const line = progress({});
    line.tick(2000);
    line.p.update(400, detail(600));
    line.tick(2000);
    line.p.finish(1000, detail(0));
    expect(line.out).toEqual([
      'delivered  400  200/s  pending 600  users/cache 600\n',
      'delivered  1,000  250/s  pending 0  users/cache 0  in 4s\n',
    ]);

    const json = progress({}, true);
    json.tick(1000);
    json.p.finish(10, detail(5));
    expect(JSON.parse(json.out[0]!)).toEqual({
      progress: 'delivered',
      done: 10,
      total: null,
      ratePerSec: 10,
      elapsedMs: 1000,
      final: true,
      pending: 5,
      targets: [{ namespace: 'users', target: 'cache', pending: 5 }],
    });
  });

  it('cuts a live line to the terminal width, since a wrapped line cannot be rewritten', () => {
    const columns = 24;
    const { p, out } = progress({ isTTY: true, columns });
    p.update(3, detail(12345));
    const text = out[0]!.replace('\r\u001b[2K', '');
    expect(text.length).toBe(columns - 1);
    expect(text.endsWith('…')).toBe(true);
  });

  it('ends an unfinished live line when abandoned, and writes nothing after', () => {
    const tty = progress({ isTTY: true });
    tty.p.update(1);
    tty.p.abandon();
    tty.p.finish();
    expect(tty.out.at(-1)).toBe('\n');
    expect(tty.out).toHaveLength(2);

    const pipe = progress({});
    pipe.p.update(1);
    pipe.p.abandon();
    expect(pipe.out).toHaveLength(1); // a pipe's lines end in a newline already
  });
});
