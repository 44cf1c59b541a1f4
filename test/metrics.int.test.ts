// Prometheus metrics of a running dispatcher, scraped over HTTP, against what its sinks really applied; and
// the structured log lines of the same run.
import { readFile } from 'node:fs/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { createMetrics, logDispatcher, serveMetrics, type WalboxLogger } from '../src/index.js';
import { isolatedWalbox } from './support/db.js';
import { FAST, stopAfterEach } from './support/dispatchers.js';
import { RecordingSink, until } from './support/recording-sink.js';

const { pool, walbox } = await isolatedWalbox('metrics');
const running = stopAfterEach();
const cleanup: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const c of cleanup.splice(0)) await c();
});

/** The value of one sample line (`name{labels} value`) of a scrape, or undefined when absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

interface Logged {
  level: 'debug' | 'info' | 'warn' | 'error';
  fields: Record<string, unknown>;
  message?: string;
}

function recordingLogger(lines: Logged[]): WalboxLogger {
  const at = (level: Logged['level']) => (fields: object, message?: string) =>
    lines.push({ level, fields: fields as Record<string, unknown>, message });
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

describe('metrics', () => {
  it('counts appends, deliveries, retries, dead letters and failed batches as the sinks saw them', async () => {
    await walbox.namespaces.upsert({
      name: 'm',
      targets: ['good', 'flaky'],
      partitions: 2,
      retry: { limit: 1, initialDelayMs: 0, maxDelayMs: 0 },
    });
    const good = new RecordingSink('good');
    const flaky = new RecordingSink('flaky');
    let down = true;
    flaky.fault = (batch) => {
      if (down) {
        down = false;
        return new Error('target down');
      }
      const poison = batch.filter((e) => e.key === 'private-key');
      return poison.length > 0
        ? { failed: poison.map((e) => ({ id: e.id, error: new Error('poison') })) }
        : undefined;
    };
    const dispatcher = walbox.dispatcher({ sinks: { good, flaky }, ...FAST });
    const events = { retried: 0, dead: 0, batchFailed: 0 };
    dispatcher.on('retried', () => events.retried++);
    dispatcher.on('dead-lettered', () => events.dead++);
    dispatcher.on('batch-failed', () => events.batchFailed++);
    const lines: Logged[] = [];
    logDispatcher(dispatcher, recordingLogger(lines));
    const metrics = createMetrics({ walbox, dispatchers: [dispatcher], statusMaxAgeMs: 0 });
    const server = await serveMetrics(metrics.registry, { port: 0, host: '127.0.0.1' });
    cleanup.push(
      () => server.close(),
      () => metrics.close(),
    );
    running.push(dispatcher);
    await dispatcher.start();

    const n = 30;
    const entries = Array.from({ length: n }, (_, i) => ({
      namespace: 'm',
      key: `k${i % 10}`,
      op: 'upsert',
      payload: { i },
    }));
    await walbox.appendMany(pool, [
      ...entries,
      { namespace: 'm', key: 'private-key', op: 'upsert', payload: 0 },
    ]);
    // An idempotent repeat returns the first entry: not appended again, not counted again.
    await walbox.append(pool, { namespace: 'm', key: 'once', op: 'upsert', idempotencyKey: 'once' });
    await walbox.append(pool, { namespace: 'm', key: 'once', op: 'upsert', idempotencyKey: 'once' });
    await until(
      () => good.applied.length === n + 2 && flaky.applied.length === n + 1 && events.dead === 1,
      30_000,
      'delivery',
    );

    const scrape = async () => (await fetch(server.url)).text();
    await until(
      async () => sample(await scrape(), 'walbox_pending_entries{namespace="m",target="flaky"}') === 0,
      10_000,
      'pending 0',
    );
    const text = await scrape();
    const m = (name: string, labels: string) => sample(text, `${name}{${labels}}`);
    expect(m('walbox_appended_entries_total', 'namespace="m"')).toBe(n + 2);
    expect(m('walbox_delivered_entries_total', 'namespace="m",target="good"')).toBe(good.applied.length);
    expect(m('walbox_delivered_entries_total', 'namespace="m",target="flaky"')).toBe(flaky.applied.length);
    expect(m('walbox_retried_entries_total', 'namespace="m",target="flaky"')).toBe(events.retried);
    expect(events.retried).toBeGreaterThanOrEqual(1);
    expect(m('walbox_dead_lettered_entries_total', 'namespace="m",target="flaky"')).toBe(1);
    expect(m('walbox_apply_failures_total', 'namespace="m",target="flaky",scope="batch"')).toBe(
      events.batchFailed,
    );
    expect(events.batchFailed).toBeGreaterThanOrEqual(1);
    expect(m('walbox_apply_failures_total', 'namespace="m",target="flaky",scope="entry"')).toBe(
      events.retried + 1,
    );
    expect(m('walbox_retried_entries_total', 'namespace="m",target="good"')).toBeUndefined();
    // Every applied entry was timed once; batch sizes add up to the deliveries.
    expect(m('walbox_commit_to_applied_seconds_count', 'namespace="m",target="good"')).toBe(n + 2);
    expect(m('walbox_batch_size_sum', 'namespace="m",target="flaky"')).toBe(n + 1);
    expect(m('walbox_commit_to_applied_seconds_bucket', 'le="+Inf",namespace="m",target="good"')).toBe(n + 2);
    // Lag gauges, read from status() on scrape.
    expect(m('walbox_pending_entries', 'namespace="m",target="good"')).toBe(0);
    expect(m('walbox_oldest_pending_seconds', 'namespace="m",target="good"')).toBe(0);
    expect(m('walbox_dead_letters', 'namespace="m",target="flaky"')).toBe(1);
    expect(m('walbox_failing_partitions', 'namespace="m",target="flaky"')).toBe(0);

    // The log lines of the same run: what failed, where, which entry; deliveries at debug level.
    const dead = lines.find((l) => l.message === 'entry dead-lettered');
    expect(dead).toMatchObject({ level: 'error', fields: { namespace: 'm', target: 'flaky', attempts: 2 } });
    expect(dead!.fields.partition).toBeTypeOf('number');
    expect(dead!.fields.entryId).toMatch(/^\d+$/);
    expect(lines.find((l) => l.message === 'entry failed, will retry')).toMatchObject({
      level: 'warn',
      fields: { target: 'flaky' },
    });
    expect(lines.find((l) => l.message === 'batch failed, backing off')).toMatchObject({
      level: 'warn',
      fields: { namespace: 'm', target: 'flaky' },
    });
    const delivered = lines.filter((l) => l.message === 'delivered' && l.fields.target === 'good');
    expect(delivered.every((l) => l.level === 'debug')).toBe(true);
    expect(delivered.reduce((sum, l) => sum + Number(l.fields.count), 0)).toBe(n + 2);
    expect(JSON.stringify(lines)).not.toContain('private-key'); // keys are not logged
  });

  it('reads the lag of a target nobody drains from status(), throttled', async () => {
    await walbox.namespaces.upsert({ name: 'lagging', targets: ['nobody'], partitions: 1 });
    const metrics = createMetrics({ walbox, statusMaxAgeMs: 60_000 });
    cleanup.push(() => metrics.close());
    await walbox.appendMany(
      pool,
      [1, 2, 3].map((i) => ({ namespace: 'lagging', key: `k${i}`, op: 'upsert' })),
    );
    const first = await metrics.registry.metrics();
    expect(sample(first, 'walbox_pending_entries{namespace="lagging",target="nobody"}')).toBe(3);
    expect(
      sample(first, 'walbox_oldest_pending_seconds{namespace="lagging",target="nobody"}'),
    ).toBeGreaterThanOrEqual(0);
    // Within statusMaxAgeMs a scrape reuses the read: a new entry shows up at the next read.
    await walbox.append(pool, { namespace: 'lagging', key: 'k4', op: 'upsert' });
    const second = await metrics.registry.metrics();
    expect(sample(second, 'walbox_pending_entries{namespace="lagging",target="nobody"}')).toBe(3);
    expect(sample(second, 'walbox_appended_entries_total{namespace="lagging"}')).toBe(4);
  });

  it('has every metric the Grafana dashboard in docs/ queries', async () => {
    const metrics = createMetrics({ walbox });
    cleanup.push(() => metrics.close());
    const names = new Set(
      [...(await metrics.registry.metrics()).matchAll(/^# TYPE (\w+) /gm)].map((m) => m[1]),
    );
    const dashboard = await readFile(new URL('../docs/grafana-dashboard.json', import.meta.url), 'utf8');
    const used = new Set(
      [...dashboard.matchAll(/\b(walbox_\w+?)(?:_bucket|_sum|_count)?\b/g)].map((m) => m[1]),
    );
    expect(used.size).toBeGreaterThan(8);
    for (const name of used) expect(names, name).toContain(name);
  });
});
