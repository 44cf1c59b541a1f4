import {
  resolveSinkConfig,
  SinkConfigError,
  type SinkEntry,
  sinkFunction,
  sinkObject,
} from '@walbox/sink-kit';
import type { ChannelModel, Options, SocketOptions } from 'amqplib';
import { z } from 'zod';

export const rabbitmqSinkConfigSchema = z
  .object({
    /** The target name the sink reports. */
    name: z.string().min(1).max(200).default('rabbitmq'),
    /** amqp:// or amqps:// URL; the sink connects on the first batch, again after a loss, and closes on close(). */
    url: z
      .string()
      .regex(/^amqps?:\/\//, { message: 'must start with amqp:// or amqps://' })
      .optional(),
    /** A connection of yours (amqplib's ChannelModel) instead of `url`; close() leaves it open. */
    connection: z
      .custom<ChannelModel>(
        (v) =>
          typeof v === 'object' &&
          v !== null &&
          typeof (v as { createConfirmChannel?: unknown }).createConfirmChannel === 'function',
        { message: 'must be an amqplib connection' },
      )
      .optional(),
    /** Socket and TLS options for the connection made from `url` (not amqplib's `recovery`: see below). */
    socketOptions: sinkObject<Omit<SocketOptions, 'recovery'>>()
      // A lost connection must fail the batch (the dispatcher decides what is sent again); the sink opens a
      // new one on the next batch. amqplib's recovery would reconnect underneath it.
      .refine((o) => !('recovery' in o), { message: 'recovery is not supported: the sink reconnects itself' })
      .optional(),
    /** The exchange to publish to ('' is the default exchange, which routes by queue name). It must exist. */
    exchange: z.string().max(255).default(''),
    /** Routing key of an entry: a template with {namespace}, {key} and {op}, or a function. */
    routingKey: z
      .union([z.string().max(255), sinkFunction<(entry: SinkEntry) => string>('(entry) => string')])
      .default('{namespace}.{key}'),
    /** The message body; defaults to the payload as JSON. */
    body: sinkFunction<(entry: SinkEntry) => Buffer>('(entry) => Buffer').optional(),
    /** Put before the entry id in `message_id` (ids are unique within one walbox schema). */
    messageIdPrefix: z.string().max(200).default(''),
    /** More AMQP properties for every message (expiration, priority...); the sink's own win. */
    publishOptions: sinkObject<Options.Publish>().optional(),
    /** How long a publish waits for its confirm before the batch is retried. */
    confirmTimeoutMs: z.number().int().min(10).max(600_000).default(10_000),
    /** How long connecting may take before the batch is retried. */
    connectTimeoutMs: z.number().int().min(10).max(600_000).default(5000),
    /** Keys published at the same time (each key's entries go one after the other). */
    concurrency: z.number().int().min(1).max(10_000).default(64),
  })
  .strict()
  .refine((c) => (c.url === undefined) !== (c.connection === undefined), {
    message: 'give exactly one of url and connection',
    path: ['url'],
  })
  .refine((c) => c.connection === undefined || c.socketOptions === undefined, {
    message: 'only with url',
    path: ['socketOptions'],
  });

export type RabbitmqSinkConfig = z.input<typeof rabbitmqSinkConfigSchema>;
export type ResolvedRabbitmqSinkConfig = Readonly<z.output<typeof rabbitmqSinkConfigSchema>>;

/** A RabbitMQ sink config failed validation; `field` names the first bad field. */
export class RabbitmqSinkConfigError extends SinkConfigError {
  constructor(field: string, message: string, options?: { cause?: unknown }) {
    super(field, message, { ...options, sink: 'rabbitmq' });
    this.name = 'RabbitmqSinkConfigError';
  }
}

export function resolveRabbitmqSinkConfig(input: RabbitmqSinkConfig): ResolvedRabbitmqSinkConfig {
  return resolveSinkConfig(rabbitmqSinkConfigSchema, input, RabbitmqSinkConfigError);
}
