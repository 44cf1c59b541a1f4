export { HEADER } from './nats-message.js';
export { createNatsSink, type NatsSink } from './nats-sink.js';
export { type NatsSinkConfig, NatsSinkConfigError } from './nats-sink-config.js';
