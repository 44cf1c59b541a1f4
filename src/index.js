export { Dispatcher } from './dispatch/dispatcher.js';
export { functionSink } from './dispatch/sink.js';
export { MAX_DELAY_MS } from './entry-encoding.js';
export { DatabaseUnavailableError, EntryRejectedError, InboxError, InvalidConfigError, InvalidEntryError, InvalidNameError, LeaseLostError, MigrationError, NamespaceBusyError, PayloadTooLargeError, SessionRequiredError, UnknownNamespaceError, WalboxError, } from './errors.js';
export { Inbox } from './inbox.js';
export { LOG_START } from './snapshot-reader.js';
export { TypedNamespace } from './typed-namespace.js';
export { Walbox } from './walbox.js';
//# sourceMappingURL=index.js.map