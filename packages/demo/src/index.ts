export { type DemoOptions, runDemo } from './script.js';
export type { WalboxApi } from './walbox-api.js';
