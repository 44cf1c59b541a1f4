import { type JetStreamClient, jetstream } from '@nats-io/jetstream';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import {
  abortable,
  type BatchResult,
  guardSecrets,
  publishPerKey,
  redactSecrets,
  type Sink,
  type SinkContext,
  type SinkEntry,
  urlSecrets,
} from '@walbox/sink-kit';
import { classifyNatsError, describeBatchError } from './nats-errors.js';
import { headerValues, jsonBody, subjectFrom } from './nats-message.js';
import {
  type NatsSinkConfig,
  type ResolvedNatsSinkConfig,
  resolveNatsSinkConfig,
} from './nats-sink-config.js';

/** A walbox sink publishing each entry to NATS JetStream. */
export interface NatsSink extends Sink<SinkEntry> {
  apply(batch: readonly SinkEntry[], ctx?: Partial<SinkContext>): Promise<void | BatchResult>;
  close(): Promise<void>;
}

const encoder = new TextEncoder();

/**
 * Publishes every entry to JetStream with `Nats-Msg-Id` = `msgIdPrefix` + entry id, so the stream's duplicate
 * window turns a re-delivered entry into a no-op, and waits for each ack: a key's entries one after the
 * other, keys concurrently. The stream must exist (see the README); the sink never creates one.
 */
export function createNatsSink(input: NatsSinkConfig): NatsSink {
  const config = resolveNatsSinkConfig(input);
  const subjectOf = subjectFrom(config.subject);
  const bodyOf = config.body ?? jsonBody;
  const owned = config.connection === undefined;
  let current: Promise<{ nc: NatsConnection; js: JetStreamClient }> | undefined;
  let closed = false;

  const client = () => {
    if (current) return current;
    const attempt = (config.connection ? Promise.resolve(config.connection) : open()).then((nc) => ({
      nc,
      js: jetstream(nc, { timeout: config.ackTimeoutMs }),
    }));
    current = attempt;
    const forget = () => {
      if (current === attempt) current = undefined;
    };
    // A connection closed for good (close(), or an error the client does not reconnect from) is replaced
    // on the next batch; a failed first connection is tried again on the next batch.
    attempt.then(({ nc }) => nc.closed().then(forget), forget);
    return attempt;
  };

  const open = () =>
    connect({
      // After the first connection the client reconnects forever; publishes meanwhile time out (ackTimeoutMs)
      // and the batch is retried.
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      timeout: config.connectTimeoutMs,
      ...config.connectionOptions,
      servers: config.servers as string | string[],
    });

  const sink: NatsSink = {
    name: config.name,
    async apply(batch, ctx = {}) {
      if (closed) throw new Error(`nats sink "${config.name}" is closed`);
      if (batch.length === 0) return;
      const { js } = await abortable(client(), ctx.signal);
      const failed = await publishPerKey(batch, {
        concurrency: config.concurrency,
        classify: classifyNatsError,
        signal: ctx.signal,
        publish: async (e) => {
          const subject = subjectOf(e);
          const h = headers();
          for (const [name, value] of headerValues(e)) h.set(name, value);
          const body = bodyOf(e);
          try {
            await js.publish(subject, typeof body === 'string' ? encoder.encode(body) : body, {
              msgID: `${config.msgIdPrefix}${e.id}`,
              headers: h,
              timeout: config.ackTimeoutMs,
              ...(config.stream ? { expect: { streamName: config.stream } } : {}),
            });
          } catch (error) {
            throw describeBatchError(error, subject);
          }
        },
      });
      return failed.length > 0 ? { failed } : undefined;
    },
    async close() {
      if (closed) return;
      closed = true;
      const attempt = current;
      current = undefined;
      if (!owned || !attempt) return;
      const { nc } = await attempt.catch(() => ({ nc: undefined }));
      // drain() flushes what is buffered and waits for the replies in flight; close() if that fails.
      await nc?.drain().catch(() => nc.close());
    },
  };
  const shown = () => ({
    name: config.name,
    servers:
      config.servers === undefined
        ? 'connection given'
        : [config.servers].flat().map((s) => redactSecrets(s)),
  });
  return guardSecrets(sink, 'NatsSink', natsSecrets(config), shown);
}

/** The passwords and tokens in the server URLs and the connection options. */
function natsSecrets(config: ResolvedNatsSinkConfig): string[] {
  const o = (config.connectionOptions ?? {}) as { pass?: unknown; token?: unknown };
  const given = [o.pass, o.token].filter((v): v is string => typeof v === 'string' && v.length > 0);
  return [...[config.servers ?? []].flat().flatMap((s) => urlSecrets(s)), ...given];
}
