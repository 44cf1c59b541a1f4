export { ConfirmTimeoutError, NackedError, UnroutableError } from './rabbitmq-errors.js';
export { HEADER } from './rabbitmq-message.js';
export { createRabbitmqSink, type RabbitmqSink } from './rabbitmq-sink.js';
export { type RabbitmqSinkConfig, RabbitmqSinkConfigError } from './rabbitmq-sink-config.js';
