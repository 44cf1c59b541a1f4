// OpenTelemetry: one span per append and per apply, and the producer's trace context carried in the entry's
// headers so that a trace runs from the request that appended to the sink that applied.
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterAll, describe, expect, it } from 'vitest';
import { type Entry, functionSink, TRACEPARENT } from '../src/index.js';
import { isolatedWalbox } from './support/db.js';
import { FAST, stopAfterEach } from './support/dispatchers.js';
import { until } from './support/recording-sink.js';

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const contextManager = new AsyncLocalStorageContextManager().enable();
context.setGlobalContextManager(contextManager);
trace.setGlobalTracerProvider(provider);
afterAll(async () => {
  await provider.shutdown();
  trace.disable();
  context.disable();
});

const { pool, walbox } = await isolatedWalbox('tracing');
const running = stopAfterEach();
const tracer = trace.getTracer('test');

describe('tracing', () => {
  it('runs one trace from the request that appended to the sink that applied', async () => {
    await walbox.namespaces.upsert({ name: 'orders', targets: ['search'], partitions: 1 });
    const applied: Entry[] = [];
    const sink = functionSink('search', async (batch) => {
      // The sink's own spans (a client library's, say) are children of the apply span.
      await tracer.startActiveSpan('index document', async (span) => {
        applied.push(...batch);
        span.end();
      });
    });
    const dispatcher = walbox.dispatcher({ sinks: { search: sink }, ...FAST });
    running.push(dispatcher);
    await dispatcher.start();

    const stored = await tracer.startActiveSpan('POST /orders', async (request) => {
      const client = await pool.connect();
      try {
        await client.query('begin');
        const e = await walbox.append(client, {
          namespace: 'orders',
          key: 'o1',
          op: 'upsert',
          payload: { total: 5 },
        });
        await client.query('commit');
        return e;
      } finally {
        client.release();
        request.end();
      }
    });
    await until(() => applied.length === 1, 20_000, 'the apply');
    await until(
      () => exporter.getFinishedSpans().some((s) => s.name === 'walbox apply orders search'),
      5000,
      'the apply span',
    );

    const spans = exporter.getFinishedSpans();
    const byName = (name: string) => spans.find((s) => s.name === name)!;
    const request = byName('POST /orders');
    const append = byName('walbox append orders');
    const apply = byName('walbox apply orders search');
    const indexed = byName('index document');

    expect(append.kind).toBe(SpanKind.PRODUCER);
    expect(append.parentSpanContext?.spanId).toBe(request.spanContext().spanId);
    expect(append.attributes).toMatchObject({
      'messaging.system': 'walbox',
      'messaging.destination.name': 'orders',
      'messaging.batch.message_count': 1,
    });
    // The entry carries the append span's context, as stored and as the sink received it.
    const traceparent = `00-${append.spanContext().traceId}-${append.spanContext().spanId}-01`;
    expect(stored.headers[TRACEPARENT]).toBe(traceparent);
    expect(applied[0]!.headers[TRACEPARENT]).toBe(traceparent);

    expect(apply.kind).toBe(SpanKind.CONSUMER);
    expect(apply.spanContext().traceId).toBe(request.spanContext().traceId);
    expect(apply.parentSpanContext?.spanId).toBe(append.spanContext().spanId);
    expect(apply.links.map((l) => l.context.spanId)).toEqual([append.spanContext().spanId]);
    expect(apply.attributes).toMatchObject({
      'walbox.target': 'search',
      'walbox.partition': 0,
      'walbox.first_entry_id': stored.id,
      'messaging.batch.message_count': 1,
    });
    expect(indexed.parentSpanContext?.spanId).toBe(apply.spanContext().spanId);
    expect(indexed.spanContext().traceId).toBe(request.spanContext().traceId);
  });

  it('keeps a traceparent the caller set, marks failed applies, and links a batch that mixes traces', async () => {
    await walbox.namespaces.upsert({ name: 'mixed', targets: ['t'], partitions: 1 });
    let calls = 0;
    const sink = functionSink('t', async () => {
      calls++;
      if (calls === 1) throw new Error('target down');
    });
    const mine = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    // Two traces in one transaction, so that they share a batch.
    const client = await pool.connect();
    try {
      await client.query('begin');
      await tracer.startActiveSpan('first', async (s) => {
        await walbox.append(client, { namespace: 'mixed', key: 'a', op: 'upsert' });
        s.end();
      });
      const kept = await walbox.append(client, {
        namespace: 'mixed',
        key: 'b',
        op: 'upsert',
        headers: { [TRACEPARENT]: mine },
      });
      expect(kept.headers[TRACEPARENT]).toBe(mine);
      await client.query('commit');
    } finally {
      client.release();
    }
    const dispatcher = walbox.dispatcher({ sinks: { t: sink }, ...FAST });
    running.push(dispatcher);
    await dispatcher.start();
    await until(() => calls >= 2, 20_000, 'a retried batch');
    await until(
      () => exporter.getFinishedSpans().filter((s) => s.name === 'walbox apply mixed t').length >= 2,
      5000,
      'spans',
    );
    const [failed, ok] = exporter.getFinishedSpans().filter((s) => s.name === 'walbox apply mixed t');
    expect(failed!.status).toMatchObject({ code: SpanStatusCode.ERROR, message: 'target down' });
    expect(ok!.status.code).not.toBe(SpanStatusCode.ERROR);
    // Two traces in the batch: a trace of its own, linked to both producers.
    expect(ok!.parentSpanContext).toBeUndefined();
    expect(ok!.links.map((l) => l.context.traceId)).toContain('0af7651916cd43dd8448eb211c80319c');
    expect(ok!.links).toHaveLength(2);
  });
});
