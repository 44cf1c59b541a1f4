// The sinks the dispatch child can run, built from settings that cross the process boundary as JSON (in
// ChildSpec). The parent prepares the servers and writes the settings (sink-servers.ts); this file, loaded in
// the child, only builds. Each package is imported when its sink is built, as a deployment would load only
// the sink it uses (ioredis alone adds ~6 MiB to the resident set), and the bundle makes each a chunk.
import type { Sink } from '../../src/index.js';

export type SinkSettings =
  | { kind: 'noop' }
  | { kind: 'redis'; url: string; keyPrefix: string }
  | { kind: 'redis-stream'; url: string; stream: string; maxLen: number }
  | { kind: 'postgres'; connectionString: string; maxConnections: number }
  | { kind: 'rocksdb'; path: string }
  | { kind: 'memcached-invalidate'; servers: string; keyPrefix: string }
  | { kind: 'nats'; servers: string; subject: string; stream: string; msgIdPrefix: string }
  | { kind: 'rabbitmq'; url: string; exchange: string; routingKey: string; messageIdPrefix: string };

/** The sink `settings` describe, named `name` (the dispatcher's target). Not for 'noop'. */
export async function createBenchSink(settings: SinkSettings, name: string): Promise<Sink> {
  switch (settings.kind) {
    case 'noop':
      throw new Error('the no-op sink is built by the child itself');
    case 'redis': {
      const { createRedisSink } = await import('../../packages/sink-redis/src/index.js');
      return createRedisSink({ name, url: settings.url, keyPrefix: settings.keyPrefix });
    }
    case 'redis-stream': {
      const { createRedisStreamSink } = await import('../../packages/sink-redis/src/index.js');
      return createRedisStreamSink({
        name,
        url: settings.url,
        stream: settings.stream,
        maxLen: settings.maxLen,
      });
    }
    case 'postgres': {
      const { createPostgresSink } = await import('../../packages/sink-postgres/src/index.js');
      return createPostgresSink({
        name,
        connectionString: settings.connectionString,
        maxConnections: settings.maxConnections,
      });
    }
    case 'rocksdb': {
      const { createRocksdbSink } = await import('../../packages/sink-rocksdb/src/index.js');
      return createRocksdbSink({ name, path: settings.path });
    }
    case 'memcached-invalidate': {
      const { createMemcachedSink } = await import('../../packages/sink-memcached/src/index.js');
      return createMemcachedSink({
        name,
        servers: settings.servers,
        mode: 'invalidate',
        keyPrefix: settings.keyPrefix,
      });
    }
    case 'nats': {
      const { createNatsSink } = await import('../../packages/sink-nats/src/index.js');
      return createNatsSink({
        name,
        servers: settings.servers,
        subject: settings.subject,
        stream: settings.stream,
        msgIdPrefix: settings.msgIdPrefix,
      });
    }
    case 'rabbitmq': {
      const { createRabbitmqSink } = await import('../../packages/sink-rabbitmq/src/index.js');
      return createRabbitmqSink({
        name,
        url: settings.url,
        exchange: settings.exchange,
        routingKey: settings.routingKey,
        messageIdPrefix: settings.messageIdPrefix,
      });
    }
  }
}
