import { randomUUID } from 'node:crypto';
import { type JetStreamManager, jetstreamManager, type StreamConfig } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll } from 'vitest';
import { HEADER } from '../src/index.js';

/** One message as the stream stores it, with walbox's headers read back. */
export interface StoredEntry {
  seq: number;
  subject: string;
  msgId: string;
  id: string;
  key: string;
  namespace: string;
  op: string;
  xid: string;
  traceparent: string | undefined;
  body: unknown;
}

/** A test's view of a JetStream server: a connection of its own, closed after the file. */
export async function jetstreamAdmin(url: string) {
  const nc: NatsConnection = await connect({
    servers: url,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 100,
  });
  afterAll(async () => {
    await nc.close();
  });
  const jsm: JetStreamManager = await jetstreamManager(nc);
  return {
    nc,
    jsm,
    /** A stream with a unique name capturing `<prefix>.>`, where `prefix` is unique as well. */
    async createStream(config: Partial<StreamConfig> = {}) {
      const tag = randomUUID().slice(0, 8);
      const name = `WALBOX_${tag}`;
      const prefix = `t${tag}`;
      await jsm.streams.add({
        name,
        subjects: [`${prefix}.>`],
        duplicate_window: 120_000_000_000,
        ...config,
      });
      return { name, prefix };
    },
    /** Every message of the stream, in stream order. */
    async read(stream: string): Promise<StoredEntry[]> {
      const info = await jsm.streams.info(stream);
      const out: StoredEntry[] = [];
      for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
        const m = await jsm.streams.getMessage(stream, { seq }).catch(() => null);
        if (!m) continue; // deleted (a test made room)
        const h = (name: string) => m.header.get(name);
        out.push({
          seq: m.seq,
          subject: m.subject,
          msgId: h('Nats-Msg-Id'),
          id: h(HEADER.entryId),
          key: h(HEADER.key),
          namespace: h(HEADER.namespace),
          op: h(HEADER.op),
          xid: h(HEADER.xid),
          traceparent: m.header.has('traceparent') ? h('traceparent') : undefined,
          body: m.data.length > 0 ? m.json() : undefined,
        });
      }
      return out;
    },
    async count(stream: string): Promise<number> {
      return (await jsm.streams.info(stream)).state.messages;
    },
  };
}
