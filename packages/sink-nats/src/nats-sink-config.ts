import type { NatsConnection, NodeConnectionOptions } from '@nats-io/transport-node';
import {
  resolveSinkConfig,
  SinkConfigError,
  type SinkEntry,
  sinkFunction,
  sinkObject,
} from '@walbox/sink-kit';
import { z } from 'zod';

const server = z
  .string()
  .min(1)
  .max(2000)
  .regex(/^(nats|tls|wss?):\/\/|^[^:/]+(:\d+)?$/, {
    message: 'must be nats://host:port, tls://... or host:port',
  });

export const natsSinkConfigSchema = z
  .object({
    /** The target name the sink reports. */
    name: z.string().min(1).max(200).default('nats'),
    /** Server URLs; the sink connects on the first batch, reconnects forever, and closes on close(). */
    servers: z.union([server, z.array(server).min(1).max(100).readonly()]).optional(),
    /** A connection of yours instead of `servers` (close() leaves it open). */
    connection: z
      .custom<NatsConnection>(
        (v) =>
          typeof v === 'object' && v !== null && typeof (v as { publish?: unknown }).publish === 'function',
        { message: 'must be a NatsConnection' },
      )
      .optional(),
    /** Extra connection options for `servers` (user, pass, token, tls, name...). */
    connectionOptions: sinkObject<Omit<NodeConnectionOptions, 'servers'>>().optional(),
    /** Subject of an entry: a template with {namespace}, {key} and {op}, or a function. */
    subject: z
      .union([z.string().min(1).max(1000), sinkFunction<(entry: SinkEntry) => string>('(entry) => string')])
      .default('{namespace}.{key}'),
    /**
     * Put before the entry id in `Nats-Msg-Id`. Entry ids are unique within one walbox schema: give each
     * schema (or database) that publishes into the same stream a prefix of its own.
     */
    msgIdPrefix: z.string().max(200).default(''),
    /** The message body; defaults to the payload as JSON. */
    body: sinkFunction<(entry: SinkEntry) => string | Uint8Array>(
      '(entry) => string | Uint8Array',
    ).optional(),
    /**
     * When set, a publish must land in this stream (JetStream's expected-stream check): a subject that some
     * other stream captures fails its entry instead of being stored there.
     */
    stream: z.string().min(1).max(255).optional(),
    /** How long a publish waits for JetStream's ack before the batch is retried. */
    ackTimeoutMs: z.number().int().min(10).max(600_000).default(5000),
    /** How long the first connection may take before the batch is retried. */
    connectTimeoutMs: z.number().int().min(10).max(600_000).default(2000),
    /** Keys published at the same time (each key's entries go one after the other). */
    concurrency: z.number().int().min(1).max(10_000).default(64),
  })
  .strict()
  .refine((c) => (c.servers === undefined) !== (c.connection === undefined), {
    message: 'give exactly one of servers and connection',
    path: ['servers'],
  })
  .refine((c) => c.connection === undefined || c.connectionOptions === undefined, {
    message: 'only with servers',
    path: ['connectionOptions'],
  });

export type NatsSinkConfig = z.input<typeof natsSinkConfigSchema>;
export type ResolvedNatsSinkConfig = Readonly<z.output<typeof natsSinkConfigSchema>>;

/** A NATS sink config failed validation; `field` names the first bad field. */
export class NatsSinkConfigError extends SinkConfigError {
  constructor(field: string, message: string, options?: { cause?: unknown }) {
    super(field, message, { ...options, sink: 'nats' });
    this.name = 'NatsSinkConfigError';
  }
}

export function resolveNatsSinkConfig(input: NatsSinkConfig): ResolvedNatsSinkConfig {
  return resolveSinkConfig(natsSinkConfigSchema, input, NatsSinkConfigError);
}
