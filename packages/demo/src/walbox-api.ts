import type * as walbox from 'walbox';

/**
 * The part of walbox's public API the demo runs on. `walbox demo` passes the module it belongs to, so the demo
 * drives exactly the walbox that started it (a clone's current build), never a second copy.
 */
export type WalboxApi = Pick<typeof walbox, 'Walbox' | 'functionSink'>;
