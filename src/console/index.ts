export type { ConsoleOptions } from './console-config.js';
export { type ConsoleHandler, createConsoleHandler } from './handler.js';
export { toNodeHandler } from './node-adapter.js';
