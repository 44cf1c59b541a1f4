import { randomUUID } from 'node:crypto';
import { type Channel, type ChannelModel, connect, type Options } from 'amqplib';
import { afterAll } from 'vitest';
import { HEADER } from '../src/index.js';

/** One message as a consumer gets it, with walbox's properties and headers read back. */
export interface Received {
  messageId: string;
  id: string;
  key: string;
  namespace: string;
  op: string;
  xid: string;
  traceparent: string | undefined;
  persistent: boolean;
  routingKey: string;
  body: unknown;
}

/** A test's connection to RabbitMQ, closed (with the queues and exchanges it declared) after the file. */
export async function rabbitAdmin(url: string) {
  const model: ChannelModel = await connect(url);
  model.on('error', () => {});
  let ch: Channel = await model.createChannel();
  const queues: string[] = [];
  const exchanges: string[] = [];
  // A failed passive check closes the channel: open another.
  const channel = async () => {
    if ((ch as unknown as { closed?: boolean }).closed) ch = await model.createChannel();
    return ch;
  };
  ch.on('close', () => Object.assign(ch, { closed: true }));
  ch.on('error', () => {});
  afterAll(async () => {
    const c = await channel().catch(() => undefined);
    for (const q of queues) await c?.deleteQueue(q).catch(() => {});
    for (const e of exchanges) await c?.deleteExchange(e).catch(() => {});
    await model.close().catch(() => {});
  });
  return {
    model,
    /** A topic exchange and a durable queue bound to it with `pattern`, both with unique names. */
    async declare(options: { pattern?: string; queue?: Options.AssertQueue } = {}) {
      const tag = randomUUID().slice(0, 8);
      const exchange = `walbox-test-${tag}`;
      const queue = `walbox-test-${tag}`;
      const c = await channel();
      await c.assertExchange(exchange, 'topic', { durable: true });
      await c.assertQueue(queue, { durable: true, ...options.queue });
      await c.bindQueue(queue, exchange, options.pattern ?? '#');
      exchanges.push(exchange);
      queues.push(queue);
      return { exchange, queue };
    },
    async count(queue: string): Promise<number> {
      return (await (await channel()).checkQueue(queue)).messageCount;
    },
    /** Takes every message now in the queue, in queue order (acknowledged: they leave the queue). */
    async drain(queue: string): Promise<Received[]> {
      const c = await channel();
      const out: Received[] = [];
      for (let m = await c.get(queue, { noAck: true }); m; m = await c.get(queue, { noAck: true })) {
        const h = m.properties.headers ?? {};
        out.push({
          messageId: m.properties.messageId,
          id: String(h[HEADER.entryId]),
          key: String(h[HEADER.key]),
          namespace: String(h[HEADER.namespace]),
          op: String(h[HEADER.op]),
          xid: String(h[HEADER.xid]),
          traceparent: h.traceparent === undefined ? undefined : String(h.traceparent),
          persistent: m.properties.deliveryMode === 2,
          routingKey: m.fields.routingKey,
          body: JSON.parse(m.content.toString()),
        });
      }
      return out;
    },
  };
}
