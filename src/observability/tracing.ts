import {
  type Attributes,
  context,
  isSpanContextValid,
  type Link,
  ROOT_CONTEXT,
  type Span,
  type SpanContext,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import type { Entry, EntryInput } from '../entry.js';

/** The entry header that carries the producer's trace context (W3C Trace Context, level 1). */
export const TRACEPARENT = 'traceparent';
export const TRACESTATE = 'tracestate';

/** At most this many producer spans are linked from one apply span. */
const MAX_LINKS = 128;
const TRACEPARENT_FORMAT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** Looked up per call: a tracer provider registered after walbox was imported is used (the API's proxy). */
function tracer() {
  return trace.getTracer('walbox');
}

export function formatTraceparent(sc: SpanContext): string {
  return `00-${sc.traceId}-${sc.spanId}-${(sc.traceFlags & 0xff).toString(16).padStart(2, '0')}`;
}

/** The producer's span context from an entry's headers, or undefined when it has none (or a malformed one). */
export function producerContext(
  headers: Record<string, unknown> | null | undefined,
): SpanContext | undefined {
  const value = headers?.[TRACEPARENT];
  if (typeof value !== 'string') return undefined;
  const m = TRACEPARENT_FORMAT.exec(value.trim());
  if (!m) return undefined;
  const sc: SpanContext = {
    traceId: m[1]!,
    spanId: m[2]!,
    traceFlags: Number.parseInt(m[3]!, 16),
    isRemote: true,
  };
  return isSpanContextValid(sc) ? sc : undefined;
}

/**
 * One span per append call (kind PRODUCER), current while the entries are written, whose context each entry
 * carries in its `traceparent` header (unless the caller set one): the dispatcher's apply span continues the
 * trace from there. Without a registered tracer the span is a no-op and nothing is added to the headers,
 * unless the caller's context already holds a span (its context is then carried).
 */
export async function traceAppend<R>(
  entries: readonly EntryInput[],
  append: (entries: readonly EntryInput[]) => Promise<R>,
): Promise<R> {
  if (!Array.isArray(entries) || entries.length === 0) return append(entries);
  const namespaces = new Set(
    entries.map((e) => (typeof e === 'object' && e !== null ? e.namespace : undefined)),
  );
  const [only] = namespaces;
  const attributes: Attributes = {
    'messaging.system': 'walbox',
    'messaging.operation.type': 'send',
    'messaging.operation.name': 'append',
    'messaging.batch.message_count': entries.length,
  };
  if (namespaces.size === 1 && typeof only === 'string') attributes['messaging.destination.name'] = only;
  const name = namespaces.size === 1 && typeof only === 'string' ? `walbox append ${only}` : 'walbox append';
  const span = tracer().startSpan(name, { kind: SpanKind.PRODUCER, attributes });
  const sc = span.spanContext();
  const carried = isSpanContextValid(sc) ? entries.map((e) => withTraceHeaders(e, sc)) : entries;
  try {
    return await context.with(trace.setSpan(context.active(), span), () => append(carried));
  } catch (err) {
    failSpan(span, err);
    throw err;
  } finally {
    span.end();
  }
}

function withTraceHeaders(entry: EntryInput, sc: SpanContext): EntryInput {
  if (typeof entry !== 'object' || entry === null) return entry; // left for validation to refuse
  const headers = entry.headers;
  if (headers !== undefined && (typeof headers !== 'object' || headers === null || Array.isArray(headers))) {
    return entry;
  }
  if (headers && TRACEPARENT in headers) return entry;
  const state = sc.traceState?.serialize();
  return {
    ...entry,
    headers: { ...headers, [TRACEPARENT]: formatTraceparent(sc), ...(state ? { [TRACESTATE]: state } : {}) },
  };
}

export interface ApplyTraceRef {
  namespace: string;
  target: string;
  partition: number;
}

/**
 * One span per sink apply (kind CONSUMER), current while the sink runs, so that a sink's own instrumented
 * calls (Redis, HTTP) are its children. When every entry of the batch came from one trace, the span is a child
 * of its producer span (the trace runs from the append to the apply); a batch that mixes traces starts a trace
 * of its own. Either way the span links to each producer span (up to 128).
 */
export async function traceApply<
  R extends { ok: boolean; error?: unknown; failed?: ReadonlyMap<string, unknown> },
>(ref: ApplyTraceRef, batch: readonly Entry[], apply: () => Promise<R>): Promise<R> {
  const links: Link[] = [];
  const traces = new Set<string>();
  let parent: SpanContext | undefined;
  for (const entry of batch) {
    const sc = producerContext(entry.headers);
    if (!sc) continue;
    parent ??= sc;
    traces.add(sc.traceId);
    if (links.length < MAX_LINKS) links.push({ context: sc });
  }
  const parentContext =
    parent && traces.size === 1 ? trace.setSpanContext(ROOT_CONTEXT, parent) : ROOT_CONTEXT;
  const span = tracer().startSpan(
    `walbox apply ${ref.namespace} ${ref.target}`,
    {
      kind: SpanKind.CONSUMER,
      links,
      attributes: {
        'messaging.system': 'walbox',
        'messaging.operation.type': 'process',
        'messaging.operation.name': 'apply',
        'messaging.destination.name': ref.namespace,
        'messaging.batch.message_count': batch.length,
        'walbox.target': ref.target,
        'walbox.partition': ref.partition,
        'walbox.first_entry_id': batch[0]?.id ?? '',
        'walbox.last_entry_id': batch[batch.length - 1]?.id ?? '',
      },
    },
    parentContext,
  );
  try {
    const result = await context.with(trace.setSpan(parentContext, span), apply);
    if (!result.ok) failSpan(span, result.error);
    else if (result.failed && result.failed.size > 0) {
      span.setAttribute('walbox.failed_count', result.failed.size);
      span.setStatus({
        code: SpanStatusCode.ERROR,
        message: `${result.failed.size} of ${batch.length} entries failed`,
      });
    }
    return result;
  } catch (err) {
    failSpan(span, err);
    throw err;
  } finally {
    span.end();
  }
}

function failSpan(span: Span, err: unknown): void {
  const error = err instanceof Error ? err : new Error(String(err));
  span.recordException(error);
  span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
}
