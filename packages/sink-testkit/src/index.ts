export { describeSink } from './describe-sink.js';
export { context, entry, expected, until } from './entries.js';
export type { DescribeSinkOptions, SinkHarness } from './sink-harness.js';
