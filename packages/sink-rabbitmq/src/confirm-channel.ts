import type { ChannelModel, ConfirmChannel, Message, Options } from 'amqplib';
import { ConfirmTimeoutError, NackedError, UnroutableError } from './rabbitmq-errors.js';

/** A confirm channel, the messages RabbitMQ returned on it (by message id) and the error that closed it. */
export interface PublishingChannel {
  readonly channel: ConfirmChannel;
  readonly returned: Map<string, Message>;
  closedBy: Error | undefined;
  closed: boolean;
}

/** Opens a confirm channel (publisher confirms on) with its listeners. */
export async function openChannel(model: ChannelModel): Promise<PublishingChannel> {
  const channel = await model.createConfirmChannel();
  const state: PublishingChannel = { channel, returned: new Map(), closedBy: undefined, closed: false };
  // RabbitMQ sends basic.return before the basic.ack of the same message, on the same channel: by the time
  // the confirm callback runs, a returned message is in the map.
  channel.on('return', (msg: Message) => {
    const id = msg.properties.messageId;
    if (typeof id === 'string') state.returned.set(id, msg);
  });
  channel.on('error', (err: Error) => {
    state.closedBy = err; // e.g. 404 NOT_FOUND for a missing exchange: the server closes the channel
  });
  channel.on('close', () => {
    state.closed = true;
  });
  return state;
}

/**
 * Publishes one message and resolves once RabbitMQ confirmed it. Rejects with UnroutableError (returned:
 * `mandatory` and no queue bound), NackedError, ConfirmTimeoutError, or an error naming why the channel
 * closed.
 */
export function publishConfirmed(
  ch: PublishingChannel,
  exchange: string,
  routingKey: string,
  content: Buffer,
  options: Options.Publish & { messageId: string },
  timeoutMs: number,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new ConfirmTimeoutError(timeoutMs)), timeoutMs);
    try {
      ch.channel.publish(exchange, routingKey, content, { ...options, mandatory: true }, (err) => {
        clearTimeout(timer);
        const returned = ch.returned.get(options.messageId);
        ch.returned.delete(options.messageId);
        if (err)
          reject(err.message === 'message nacked' ? new NackedError(routingKey) : closedError(ch, err));
        else if (returned) {
          const { replyCode, replyText } = returned.fields as { replyCode?: number; replyText?: string };
          reject(new UnroutableError(exchange, routingKey, `${replyCode ?? ''} ${replyText ?? ''}`.trim()));
        } else resolve();
      });
    } catch (err) {
      clearTimeout(timer); // publish throws on a closed channel
      reject(closedError(ch, err));
    }
  });
}

function closedError(ch: PublishingChannel, err: unknown): Error {
  const why = ch.closedBy ? `: ${ch.closedBy.message}` : '';
  return new Error(`RabbitMQ channel closed before the confirm${why}`, { cause: ch.closedBy ?? err });
}
