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
import { type ChannelModel, connect } from 'amqplib';
import { openChannel, type PublishingChannel, publishConfirmed } from './confirm-channel.js';
import { classifyRabbitError } from './rabbitmq-errors.js';
import { jsonBody, messageHeaders, routingKeyFrom } from './rabbitmq-message.js';
import { type RabbitmqSinkConfig, resolveRabbitmqSinkConfig } from './rabbitmq-sink-config.js';

/** A walbox sink publishing each entry to RabbitMQ with publisher confirms. */
export interface RabbitmqSink extends Sink<SinkEntry> {
  apply(batch: readonly SinkEntry[], ctx?: Partial<SinkContext>): Promise<void | BatchResult>;
  close(): Promise<void>;
}

/**
 * Publishes every entry as a persistent message with `message_id` = entry id, `mandatory` set, on a confirm
 * channel per (namespace, partition) drain, and waits for each confirm: a key's entries one after the other,
 * keys concurrently. Exchanges, queues and bindings must exist (see the README); the sink declares none.
 */
export function createRabbitmqSink(input: RabbitmqSinkConfig): RabbitmqSink {
  const config = resolveRabbitmqSinkConfig(input);
  const routingKeyOf = routingKeyFrom(config.routingKey);
  const bodyOf = config.body ?? jsonBody;
  const owned = config.connection === undefined;
  let model: Promise<ChannelModel> | undefined;
  const channels = new Map<string, Promise<PublishingChannel>>();
  let closed = false;

  const connection = () => {
    if (model) return model;
    const attempt = config.connection
      ? Promise.resolve(config.connection)
      : connect(config.url!, { timeout: config.connectTimeoutMs, ...config.socketOptions });
    model = attempt;
    const forget = () => {
      if (model !== attempt) return;
      model = undefined;
      channels.clear();
    };
    attempt.then((m) => {
      // A lost connection fails the confirms in flight (the batch is retried) and is replaced on the next batch.
      m.on('error', () => {});
      m.on('close', forget);
    }, forget);
    return attempt;
  };

  /** The drain's channel: one per (namespace, partition), opened again after it closed. */
  const channelFor = async (drain: string): Promise<PublishingChannel> => {
    const existing = channels.get(drain);
    if (existing) {
      const ch = await existing.catch(() => undefined);
      if (ch && !ch.closed) return ch;
      if (channels.get(drain) === existing) channels.delete(drain);
    }
    const opened = connection().then(openChannel);
    channels.set(drain, opened);
    opened.catch(() => channels.get(drain) === opened && channels.delete(drain));
    return opened;
  };

  const sink: RabbitmqSink = {
    name: config.name,
    async apply(batch, ctx = {}) {
      if (closed) throw new Error(`rabbitmq sink "${config.name}" is closed`);
      if (batch.length === 0) return;
      const ch = await abortable(
        channelFor(`${ctx.namespace ?? ''}\u0000${ctx.partition ?? ''}`),
        ctx.signal,
      );
      const failed = await publishPerKey(batch, {
        concurrency: config.concurrency,
        classify: classifyRabbitError,
        signal: ctx.signal,
        publish: (e) => {
          const routingKey = routingKeyOf(e);
          const content = bodyOf(e);
          return publishConfirmed(
            ch,
            config.exchange,
            routingKey,
            content,
            {
              ...(config.body ? {} : { contentType: 'application/json' }),
              ...config.publishOptions,
              persistent: true,
              messageId: `${config.messageIdPrefix}${e.id}`,
              type: e.op,
              appId: 'walbox',
              ...(e.createdAt ? { timestamp: Math.floor(e.createdAt.getTime() / 1000) } : {}),
              headers: { ...config.publishOptions?.headers, ...messageHeaders(e) },
            },
            config.confirmTimeoutMs,
          );
        },
      });
      return failed.length > 0 ? { failed } : undefined;
    },
    async close() {
      if (closed) return;
      closed = true;
      const open = [...channels.values()];
      channels.clear();
      const current = model;
      model = undefined;
      await Promise.all(open.map((p) => p.then((ch) => ch.channel.close()).catch(() => {})));
      if (owned && current) await current.then((m) => m.close()).catch(() => {});
    },
  };
  const shown = () => ({
    name: config.name,
    url: config.url === undefined ? 'connection given' : redactSecrets(config.url),
  });
  return guardSecrets(sink, 'RabbitmqSink', urlSecrets(config.url), shown);
}
