// Unit checks of the observability helpers: secrets redacted, terminal text escaped, config errors named.
import { describe, expect, it } from 'vitest';
import { humanLine } from '../src/cli/commands/tail.js';
import { dispatchConfigSchema } from '../src/dispatch-config/dispatch-config.js';
import { firstIssue } from '../src/dispatch-config/load-dispatch-config.js';
import type { Entry } from '../src/index.js';
import { Progress } from '../src/observability/progress.js';
import { escapeControl } from '../src/observability/terminal-text.js';
import { producerContext } from '../src/observability/tracing.js';
import { redactSecrets } from '../src/redact.js';

describe('redactSecrets', () => {
  it.each([
    ['postgres://app:s3cr%40t@db:5432/x', 'postgres://app:***@db:5432/x'],
    ['connect to redis://:hunter2@cache:6379 failed', 'connect to redis://:***@cache:6379 failed'],
    ['host=db user=app password=hunter2 dbname=x', 'host=db user=app password=*** dbname=x'],
    ["password='two words' host=db", 'password=*** host=db'],
    ['postgres://app@db/x (no password)', 'postgres://app@db/x (no password)'],
  ])('%s', (input, expected) => {
    expect(redactSecrets(input)).toBe(expected);
  });
});

describe('escapeControl', () => {
  it('shows C0, C1, DEL and direction overrides as escapes and leaves the rest', () => {
    expect(escapeControl('a\u001b[2Jb\u009bc\u007fd\u202ee\u2066f')).toBe(
      'a\\x1b[2Jb\\x9bc\\x7fd\\u202ee\\u2066f',
    );
    expect(escapeControl('naïve 日本 ✓')).toBe('naïve 日本 ✓');
  });

  it('makes a tail line safe whatever the key and payload hold', () => {
    const entry = {
      id: '7',
      key: 'k\u001b]0;title\u0007',
      op: 'upsert',
      payload: { s: '\u009b1m' },
      createdAt: new Date('2026-01-02T03:04:05.000Z'),
    } as unknown as Entry;
    // biome-ignore lint/suspicious/noControlCharactersInRegex: asserting that none is left
    expect(humanLine(entry)).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
    expect(humanLine(entry)).toBe(
      '2026-01-02T03:04:05.000Z  7  "k\\u001b]0;title\\u0007"  upsert  {"s":"\\x9b1m"}',
    );
    const long = { ...entry, payload: 'x'.repeat(1000) } as Entry;
    expect(humanLine(long).length).toBeLessThan(400);
    expect(humanLine(long, true).length).toBeGreaterThan(1000);
  });
});

describe('dispatch config errors', () => {
  const field = (input: unknown) => {
    const r = dispatchConfigSchema.safeParse(input);
    return r.success ? undefined : firstIssue(r.error.issues);
  };
  it('names the field, an unknown option itself, and a sink spec problem inside the sink', () => {
    expect(field({ sinks: { a: { use: 'x' } }, dispatcher: { concurrency: 0 } })?.field).toBe(
      'dispatcher.concurrency',
    );
    expect(field({ sinks: { a: { use: 'x' } }, metricsPrt: 1 })).toEqual({
      field: 'metricsPrt',
      message: 'unknown option',
    });
    expect(field({ sinks: { a: { use: 'x', option: {} } } })).toEqual({
      field: 'sinks.a.option',
      message: 'unknown option',
    });
    expect(field({ sinks: { a: { use: 5 } } })?.field).toBe('sinks.a.use');
    expect(field({ sinks: { a: { use: 'x' } }, dispatcher: { superviseMs: 20_000 } })?.field).toBe(
      'dispatcher.superviseMs',
    );
    expect(field({ sinks: { a: { apply: async () => {} } } })).toBeUndefined();
  });
});

describe('producerContext', () => {
  it('reads a W3C traceparent header and ignores malformed ones', () => {
    expect(
      producerContext({ traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' }),
    ).toMatchObject({
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: 'b7ad6b7169203331',
      traceFlags: 1,
      isRemote: true,
    });
    for (const bad of ['', 'x', '00-00000000000000000000000000000000-b7ad6b7169203331-01', 42]) {
      expect(producerContext({ traceparent: bad })).toBeUndefined();
    }
    expect(producerContext({})).toBeUndefined();
  });
});

describe('Progress', () => {
  const run = (options: { isTTY?: boolean; json?: boolean; total?: number }) => {
    let now = 0;
    const out: string[] = [];
    const p = new Progress({
      label: 'replay users → cache',
      total: options.total,
      json: options.json,
      intervalMs: 1000,
      now: () => now,
      stream: { isTTY: options.isTTY, write: (t: string) => out.push(t) },
    });
    for (let i = 1; i <= 5000; i++) {
      now = i; // 1 ms per item: 1,000 items/s
      p.update(i);
    }
    p.finish();
    return out;
  };

  it('rewrites one line on a terminal, with counts, a bar, the rate and the time left', () => {
    const out = run({ isTTY: true, total: 10_000 });
    expect(out[1]).toBe(
      '\r\u001b[2Kreplay users → cache  1,001/10,000  [##..................] 10.0%  1,000/s  eta 9s',
    );
    expect(out.at(-1)).toBe(
      '\r\u001b[2Kreplay users → cache  5,000/10,000  [##########..........] 50.0%  1,000/s  in 5s\n',
    );
    expect(out.length).toBeLessThanOrEqual(7); // throttled: about one render per interval
  });

  it('prints plain lines to a pipe and NDJSON with --json', () => {
    expect(run({})[1]).toBe('replay users → cache  1,001  1,000/s\n');
    const last = JSON.parse(run({ json: true, total: 5000 }).at(-1)!);
    expect(last).toEqual({
      progress: 'replay users → cache',
      done: 5000,
      total: 5000,
      ratePerSec: 1000,
      elapsedMs: 5000,
      final: true,
    });
  });
});
