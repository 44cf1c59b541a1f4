import type { PublishErrorKind } from '@walbox/sink-kit';

/** RabbitMQ returned the message (`mandatory`): no queue is bound for its routing key. */
export class UnroutableError extends Error {
  readonly code = 'UNROUTABLE';
  constructor(
    readonly exchange: string,
    readonly routingKey: string,
    reply: string,
  ) {
    super(
      `RabbitMQ returned the message: no queue is bound to exchange ${JSON.stringify(exchange)} for routing ` +
        `key ${JSON.stringify(routingKey)} (${reply})`,
    );
    this.name = 'UnroutableError';
  }
}

/** RabbitMQ nacked the message: a queue refused it (x-overflow reject-publish on a full queue) or it failed. */
export class NackedError extends Error {
  readonly code = 'NACKED';
  constructor(routingKey: string) {
    super(
      `RabbitMQ nacked the message with routing key ${JSON.stringify(routingKey)}: a queue it routes to is ` +
        'full (x-overflow reject-publish) or the broker could not store it',
    );
    this.name = 'NackedError';
  }
}

/** No confirm within confirmTimeoutMs: the broker may or may not have the message. */
export class ConfirmTimeoutError extends Error {
  readonly code = 'CONFIRM_TIMEOUT';
  constructor(timeoutMs: number) {
    super(`no publisher confirm from RabbitMQ within ${timeoutMs} ms`);
    this.name = 'ConfirmTimeoutError';
  }
}

/**
 * A returned or nacked message, or an entry the sink cannot turn into a message, fails its entry. Anything
 * else (channel or connection closed, no confirm in time) leaves the outcome unknown: the batch is retried.
 */
export function classifyRabbitError(error: unknown): PublishErrorKind {
  return error instanceof UnroutableError || error instanceof NackedError || error instanceof TypeError
    ? 'entry'
    : 'batch';
}
